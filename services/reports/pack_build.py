"""Building the pack model from a council's `report --by` documents: its sections in order, and the RAG."""

from __future__ import annotations

from collections.abc import Mapping

from services.reports.pack_breakdowns import closures_section, funnel_section, needs_section, previous_year_rows
from services.reports.pack_model import INDICATORS, PackModel, quarter_statuses, rows_between
from services.reports.pack_sections import cpp_section, rereferral_section
from services.reports.pack_source import CouncilSeries


def build_pack(series: CouncilSeries, first: str, last: str, targets: Mapping[str, float | None]) -> PackModel:
    """The pack for months first..last ("YYYY-MM") from the council's `report --by` documents."""
    months = rows_between(series.months, "months", first, last)
    if not months:
        raise ValueError(f"no months of council {series.la_code} between {first} and {last} in the history")
    quarters = rows_between(series.quarters, "quarters", first, last)
    statuses = {i.key: quarter_statuses(quarters, i, targets) for i in INDICATORS}
    statuses = {key: found for key, found in statuses.items() if any(q.target is not None for q in found)}
    listing = [r for r in series.rereferrals if first <= r.referral_date.strftime("%Y-%m") <= last]
    return PackModel(
        la_code=series.la_code,
        name=series.name,
        first_month=first,
        last_month=last,
        sections=[
            rereferral_section(months, statuses.get("rereferral", []), targets),
            cpp_section(months),
            funnel_section(months, statuses),
            needs_section(months, previous_year_rows(series.months, months[-12:])),
            closures_section(months, listing),
        ],
        quarters=statuses,
        targets=dict(targets),
        events=series.events,
        rejected=series.rejected,
    )
