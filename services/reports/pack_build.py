"""Building the pack model from a council's `report --by` documents: its sections in order, and the RAG."""

from __future__ import annotations

from collections.abc import Mapping

from services.core.series import Row
from services.reports.pack_breakdowns import closures_section, funnel_section, needs_section, previous_year_rows
from services.reports.pack_cells import shared_counts
from services.reports.pack_model import INDICATORS, Indicator, PackModel, quarter_statuses, rows_between
from services.reports.pack_sections import cpp_section, rereferral_section
from services.reports.pack_source import CouncilSeries
from services.reports.suppression import Shown, suppress_column


def published_quarters(quarters: list[Row], indicator: Indicator) -> dict[str, tuple[Shown, Shown]]:
    """An indicator with no monthly table: its quarters' counts, each column suppressed with its total."""
    numerators, _, _ = suppress_column([int(q.get(indicator.numerator) or 0) for q in quarters], [])
    denominators, _, _ = suppress_column([int(q.get(indicator.denominator) or 0) for q in quarters], [])
    return {
        str(q["quarter"]): pair for q, pair in zip(quarters, zip(numerators, denominators, strict=True), strict=True)
    }


def build_pack(series: CouncilSeries, first: str, last: str, targets: Mapping[str, float | None]) -> PackModel:
    """The pack for months first..last ("YYYY-MM") from the council's `report --by` documents."""
    months = rows_between(series.months, "months", first, last)
    if not months:
        raise ValueError(f"no months of council {series.la_code} between {first} and {last} in the history")
    quarters = rows_between(series.quarters, "quarters", first, last)
    names = [str(q["quarter"]) for q in quarters]
    previous = [r for r in previous_year_rows(series.months, months[-12:]) if str(r["month"]) < first]
    shared = shared_counts(months, names, previous)
    published = {i.key: published_quarters(quarters, i) for i in INDICATORS[1:]}
    published["rereferral"] = {q: (shared.rereferrals_by_quarter[q], shared.referrals_by_quarter[q]) for q in names}
    statuses = {i.key: quarter_statuses(quarters, i, targets, published[i.key]) for i in INDICATORS}
    statuses = {key: found for key, found in statuses.items() if any(q.target is not None for q in found)}
    listing = [r for r in series.rereferrals if first <= r.referral_date.strftime("%Y-%m") <= last]
    return PackModel(
        la_code=series.la_code,
        name=series.name,
        first_month=first,
        last_month=last,
        sections=[
            rereferral_section(months, shared, statuses.get("rereferral", []), targets),
            cpp_section(months),
            funnel_section(months, shared, statuses),
            needs_section(months, previous, shared),
            closures_section(months, listing, shared),
        ],
        quarters=statuses,
        targets=dict(targets),
        events=series.events,
        rejected=series.rejected,
    )
