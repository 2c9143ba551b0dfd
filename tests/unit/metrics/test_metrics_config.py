"""The deprecated metrics file's targets and neighbours, still read for one release (services.council_targets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.metrics.config import load_metrics_config

EXAMPLE = """
[default]
referral_to_assessment_target = 0.75

[councils."886"]
rereferral_target = 0.20
neighbours = ["887", "845", "850"]

[councils."344"]
rereferral_target = 0.18
referral_to_assessment_target = 0.8
"""


def test_a_council_overrides_the_default_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "metrics.toml"
    path.write_text(EXAMPLE, encoding="utf-8")

    config = load_metrics_config(path)

    kent = config.for_council("886")
    assert (kent.rereferral_target, kent.referral_to_assessment_target) == (0.20, 0.75)
    assert kent.neighbours == ("887", "845", "850")
    assert config.for_council("344").referral_to_assessment_target == 0.8
    assert config.for_council("999").rereferral_target is None  # the collector then uses England's latest


def test_no_file_means_defaults() -> None:
    assert load_metrics_config(None).for_council("886").rereferral_target is None


@pytest.mark.parametrize(
    "text",
    [
        '[councils."886"]\nrereferral_target = 22.6',
        '[councils."Kent"]\nrereferral_target = 0.2',
        "[default]\ntarget = 1",
    ],
    ids=["a percentage instead of a fraction", "a name instead of a DfE code", "an unknown setting"],
)
def test_mistakes_in_the_file_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "metrics.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValidationError):
        load_metrics_config(path)
