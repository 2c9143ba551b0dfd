"""The report pack as one in-memory model: sections of tables, charts and commentary, and the quarterly RAG.

Built only from `report --by month` and `--by quarter` documents (pack_source), with every count and rate
passed through the small-number rule (suppression) before it is placed. The HTML page and the Word document
render this model and compute nothing; pack_sections builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from services.core.rag import Better, Rag, rag_status, red_in_a_row
from services.core.series import Row
from services.reports.suppression import Shown, shown_rate

Value = int | float | str | None  # a count, a fraction, "c" (suppressed), a label, or None (not shown)
Kind = Literal["label", "count", "rate", "points", "rag"]


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    kind: Kind
    key: str = ""  # the series key the column shows, when it shows one directly


@dataclass(slots=True)
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Value]]
    note: str = ""


@dataclass(slots=True)
class Chart:
    """A line chart of fractions by period (None: a gap), or grouped bars of counts by category."""

    title: str
    x: list[str]
    series: dict[str, list[float | None]]
    style: Literal["lines", "bars"] = "lines"
    dashed: frozenset[str] = frozenset()
    percent: bool = True


@dataclass(slots=True)
class Section:
    key: str
    title: str
    commentary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    for_officer: bool = False  # an empty box the officer fills in (an exception report's reasons and actions)


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator that can have a target: its quarterly rate key, counts and which side of the target is good."""

    key: str
    title: str
    rate: str
    numerator: str
    denominator: str
    better: Better
    definition: str


INDICATORS = (
    Indicator(
        "rereferral",
        "Re-referral rate",
        "rereferral_rate",
        "rereferrals",
        "referrals",
        "lower",
        "Referrals in the quarter that were within 12 months of the same child's previous referral, as a share of "
        "all referrals in the quarter (DfE Children in Need census, C1).",
    ),
    Indicator(
        "contact_to_referral",
        "Contact to referral conversion",
        "contact_to_referral_rate",
        "funnel_referred",
        "contacts",
        "higher",
        "Contacts received in the quarter that a referral names (by contact id), as a share of those contacts.",
    ),
    Indicator(
        "referral_to_assessment",
        "Referral to assessment conversion",
        "referral_to_assessment_rate",
        "funnel_assessed",
        "funnel_referred",
        "higher",
        "Of the quarter's contacts that became referrals, the share whose referral has an assessment naming it.",
    ),
)


@dataclass(frozen=True, slots=True)
class QuarterStatus:
    quarter: str
    numerator: Shown
    denominator: Shown
    rate: float | None  # as published (None when suppressed)
    target: float | None
    status: Rag | None  # None: no target, or the rate is not shown


@dataclass(slots=True)
class PackModel:
    la_code: str
    name: str
    first_month: str
    last_month: str
    sections: list[Section]
    quarters: dict[str, list[QuarterStatus]]  # indicator key -> its complete quarters in the period
    targets: dict[str, float | None]  # indicator key -> configured target (re-referral: None means England's)
    events: int
    rejected: int

    def red_two_quarters(self) -> list[Indicator]:
        """The indicators red in each of the period's last two complete quarters: the exception rule."""
        return [i for i in INDICATORS if red_in_a_row([q.status for q in self.quarters.get(i.key, [])])]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def rows_between(document: Mapping[str, Any], plural: str, first: str, last: str) -> list[Row]:
    """The document's rows whose month (or a quarter's months) lie within first..last, inclusive."""
    if plural == "months":
        return [row for row in document["months"] if first <= str(row["month"]) <= last]
    out = []
    for row in document["quarters"]:
        year, number = int(str(row["quarter"])[:4]), int(str(row["quarter"])[-1])
        start, end = f"{year}-{number * 3 - 2:02d}", f"{year}-{number * 3:02d}"
        if row["months"] == 3 and first <= start and end <= last:
            out.append(row)
    return out


def target_for(indicator: Indicator, targets: Mapping[str, float | None], row: Row) -> float | None:
    """The configured target; for re-referrals without one, England's latest published rate (as the board)."""
    configured = targets.get(indicator.key)
    if configured is not None:
        return configured
    england = row.get("rereferral_england") if indicator.key == "rereferral" else None
    return float(england) if isinstance(england, int | float) else None


def quarter_statuses(
    quarters: Sequence[Row],
    indicator: Indicator,
    targets: Mapping[str, float | None],
    published: Mapping[str, tuple[Shown, Shown]],
) -> list[QuarterStatus]:
    """Each quarter's outturn as published: (numerator, denominator) from `published`, suppressed elsewhere."""
    out = []
    for row in quarters:
        quarter = str(row["quarter"])
        numerator, denominator = published[quarter]
        rate = row.get(indicator.rate)
        shown = shown_rate(numerator, denominator, rate if isinstance(rate, float | int) else None)
        target = target_for(indicator, targets, row)
        status = rag_status(shown, target, indicator.better) if shown is not None and target is not None else None
        out.append(QuarterStatus(quarter, numerator, denominator, shown, target, status))
    return out
