"""Commentary generated from the pack's numbers: sentences that state facts (runs, differences, RAG), no judgement."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from services.core.rag import Rag

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def month_name(month: str) -> str:
    """ "2025-03" -> "March 2025"."""
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def percent(value: float) -> str:
    return f"{value:.1%}"


def points(difference: float) -> str:
    """A difference of fractions in percentage points, one decimal place."""
    return f"{abs(difference) * 100:.1f} point" + ("" if round(abs(difference) * 100, 1) == 1 else "s")


def run_at_end(values: Sequence[float | None]) -> tuple[str, int]:
    """The direction of the last change ("rose", "fell", "was unchanged") and how many months running."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return "", 0
    changes = [round(b - a, 6) for a, b in itertools.pairwise(known)]
    sign = (changes[-1] > 0) - (changes[-1] < 0)
    count = 0
    for change in reversed(changes):
        if (change > 0) - (change < 0) != sign:
            break
        count += 1
    return {1: "rose", -1: "fell", 0: "was unchanged"}[sign], count


def trend_sentence(name: str, months: Sequence[str], values: Sequence[float | None]) -> str | None:
    """E.g. "The rolling 12-month rate rose for the third month running, to 23.1% in March 2026."."""
    pairs = [(m, v) for m, v in zip(months, values, strict=True) if v is not None]
    direction, count = run_at_end([v for _, v in pairs])
    if not pairs or not direction:
        return None
    month, value = pairs[-1]
    if direction == "was unchanged":
        return f"{name} was unchanged at {percent(value)} in {month_name(month)}."
    running = f" for the {ORDINALS[count - 1]} month running" if 1 < count <= len(ORDINALS) else ""
    running = f" for {count} months running" if count > len(ORDINALS) else running
    return f"{name} {direction}{running}, to {percent(value)} in {month_name(month)}."


def comparison_sentence(name: str, value: float | None, other: float | None, other_name: str) -> str | None:
    """E.g. "It is 3.1 points above the national figure (22.4%)."."""
    if value is None or other is None:
        return None
    difference = round(value - other, 6)
    if round(difference * 100, 1) == 0:
        return f"{name} ({percent(value)}) equals {other_name} ({percent(other)})."
    side = "above" if difference > 0 else "below"
    return f"{name} ({percent(value)}) is {points(difference)} {side} {other_name} ({percent(other)})."


def rag_sentence(title: str, quarters: Sequence[tuple[str, float | None, float | None, Rag | None]]) -> list[str]:
    """The latest quarter's outturn against target and its RAG, and the run of reds if there is one."""
    shown = [q for q in quarters if q[1] is not None and q[2] is not None and q[3] is not None]
    if not shown:
        return []
    quarter, value, target, status = shown[-1]
    assert value is not None and target is not None and status is not None  # filtered above
    side = "above" if value > target else "below" if value < target else "at"
    gap = "" if side == "at" else f", {points(value - target)} {side}"
    out = [f"{title} in {quarter}: {percent(value)} against a target of {percent(target)}{gap} ({status.value})."]
    reds = 0
    for _, _, _, each in reversed(quarters):
        if each is not Rag.RED:
            break
        reds += 1
    if reds >= 2:
        out.append(f"It has been red for {reds} consecutive complete quarters.")
    return out
