"""DfE's 2025 statistical neighbour model for children's services: each council's ten nearest, from package data."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence
from importlib import resources

SN_FILE = "sn_model_2025_wide.csv"
NEIGHBOURS_PER_COUNCIL = 10


def parse_sn_model(text: str) -> dict[str, tuple[str, ...]]:
    """Old LA code -> its neighbours' old LA codes, nearest first (`SN_1` ... `SN_10`)."""
    model: dict[str, tuple[str, ...]] = {}
    for record in csv.DictReader(io.StringIO(text)):
        code = record["old_la_code"].strip()
        neighbours = (record.get(f"SN_{n}", "").strip() for n in range(1, NEIGHBOURS_PER_COUNCIL + 1))
        model[code] = tuple(n for n in neighbours if n)
    return model


@functools.cache
def sn_model() -> dict[str, tuple[str, ...]]:
    text = resources.files(__package__).joinpath("data", SN_FILE).read_text(encoding="utf-8-sig")
    return parse_sn_model(text)


def statistical_neighbours(la_code: str, configured: Sequence[str] = ()) -> tuple[str, ...]:
    """A council's statistical neighbours: those `configured` for it (its rules file), else its ten in the 2025
    model; () for a code the model does not list. The gauges, `report --by` and the pack all compare with these."""
    return tuple(configured) or sn_model().get(la_code.strip(), ())
