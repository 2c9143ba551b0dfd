"""The small PromQL reader the board and rule checks rely on."""

from __future__ import annotations

import pytest

from services.metrics.promql import fill_variables, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (source_group) (increase(frontdoor_contacts_total{la_code="$la_code"}[$__range]))',
            {"frontdoor_contacts_total"},
        ),
        ("frontdoor:a:ratio - on (la_code) frontdoor:b:ratio", {"frontdoor:a:ratio", "frontdoor:b:ratio"}),
        (
            '1 - (sum without (instance, le) (rate(x_bucket{le=~"1(\\\\.0)?"}[5m]))'
            " / sum without (instance) (rate(x_count[5m])))",
            {"x_bucket", "x_count"},
        ),
        ('up{job="frontdoor-worker"} == 0 or absent(up{job="frontdoor-worker"})', {"up"}),
        ("time() - max(frontdoor_ts) > 14.4 * 0.01 and on () vector(1)", {"frontdoor_ts"}),
        ('label_replace(a < on (la_code) b, "indicator", "x", "", "") offset 5m', {"a", "b"}),
    ],
)
def test_metric_names_are_the_selected_series_only(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_grafana_variables_are_filled_in_all_three_syntaxes() -> None:
    expr = 'x{la_code="$la_code", g="${source_group}", h="[[source_group]]"}[$__range]'

    assert fill_variables(expr, {"la_code": "886", "source_group": "police", "__range": "1h"}) == (
        'x{la_code="886", g="police", h="police"}[1h]'
    )


def test_an_unknown_variable_is_an_error() -> None:
    with pytest.raises(KeyError):
        fill_variables('x{a="$nope"}', {})
