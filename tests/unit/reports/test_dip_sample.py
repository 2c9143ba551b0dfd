"""`frontdoor dip-sample`: proportional per stratum, at least one each, reproducible from its seed, audited."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from services.cli import main
from services.reports.dip_sample import allocate, draw_dip_sample, quarter_days
from tests.unit.reports.conftest import LA_CODE, History

QUARTER = "2024-Q3"


def test_the_bcp_strata_get_21_places_by_largest_remainder_with_at_least_one_each() -> None:
    population = {"assessment": 165, "family support": 52, "MASH": 29, "other": 10}  # quotas 13.5, 4.3, 2.4, 0.8

    places = allocate(population, 21)

    assert places == {"assessment": 14, "family support": 4, "MASH": 2, "other": 1}


@pytest.mark.parametrize("size", [4, 7, 21, 40])
def test_every_allocation_adds_up_gives_each_stratum_one_and_never_fewer_to_a_larger_stratum(size: int) -> None:
    population = {"a": 120, "b": 33, "c": 9, "d": 2}

    places = allocate(population, size)

    assert sum(places.values()) == size
    assert min(places.values()) >= 1
    assert places["a"] >= places["b"] >= places["c"] >= places["d"]


@pytest.mark.parametrize("size", [21, 40, 80])
def test_when_no_stratum_needs_lifting_to_one_each_is_within_one_place_of_its_quota(size: int) -> None:
    population = {"a": 120, "b": 33, "c": 19, "d": 12}

    places = allocate(population, size)

    for name, n in population.items():
        assert abs(places[name] - size * n / sum(population.values())) < 1


def test_a_sample_larger_than_the_population_takes_everyone_and_a_too_small_one_is_refused() -> None:
    assert allocate({"a": 3, "b": 2}, 10) == {"a": 3, "b": 2}
    with pytest.raises(ValueError, match="cannot take one from each"):
        allocate({"a": 3, "b": 2, "c": 1}, 2)


def test_quarters_are_calendar_quarters() -> None:
    assert [str(d) for d in quarter_days("2024-Q3")] == ["2024-07-01", "2024-09-30"]
    assert [str(d) for d in quarter_days("2024-Q4")] == ["2024-10-01", "2024-12-31"]


def test_a_seed_draws_the_same_sample_and_another_seed_a_different_one(history: History) -> None:
    listing = history.series.rereferrals
    first = draw_dip_sample(listing, LA_CODE, QUARTER, size=21, by="closing-team", seed=7)
    again = draw_dip_sample(listing, LA_CODE, QUARTER, size=21, by="closing-team", seed=7)
    other = draw_dip_sample(listing, LA_CODE, QUARTER, size=21, by="closing-team", seed=8)

    assert first.rows() == again.rows()
    assert {r["pseudonym"] + r["referral_date"] for r in first.rows()} != {
        r["pseudonym"] + r["referral_date"] for r in other.rows()
    }
    assert len(first.drawn) == 21
    assert sum(first.population.values()) > 21


def test_the_sample_takes_its_allocation_from_each_stratum_of_the_quarters_re_referrals(history: History) -> None:
    sample = draw_dip_sample(history.series.rereferrals, LA_CODE, QUARTER, size=21, by="closing-team", seed=3)
    first, last = quarter_days(QUARTER)

    for stratum, places in sample.allocation.items():
        assert sum(1 for name, _ in sample.drawn if name == stratum) == places
    assert all(first <= r.referral_date <= last and r.previous_team == name for name, r in sample.drawn)
    assert set(sample.population) == set(sample.allocation)


def test_the_command_writes_csv_json_and_an_audit_entry_with_who_and_which_seed(
    history: History, tmp_path: Path
) -> None:
    argv = ["dip-sample", "--la-code", LA_CODE, "--events", str(history.events), "--quarter", QUARTER]
    assert (
        main(
            [*argv, "--size", "21", "--by", "closing-team", "--seed", "5", "--out", str(tmp_path), "--user", "auditor"]
        )
        == 0
    )

    stem = tmp_path / f"dip-sample-{LA_CODE}-{QUARTER}-seed5"
    rows = list(csv.DictReader(stem.with_suffix(".csv").open(encoding="utf-8")))
    document = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    audit = [json.loads(line) for line in (tmp_path / "dip-sample-audit.jsonl").read_text().splitlines()]

    assert len(rows) == 21 == len(document["sample"])
    assert {"pseudonym", "referral_date", "previous_closure_date", "previous_team", "same_concern"} <= set(rows[0])
    assert [(a["user"], a["seed"], a["la_code"], a["quarter"], a["size"], a["drawn"]) for a in audit] == [
        ("auditor", 5, LA_CODE, QUARTER, 21, 21)
    ]
    assert "pseudonym" not in audit[0] and rows[0]["pseudonym"] not in json.dumps(audit)
