"""A partner agency's figures by month, as published: the core's monthly series for its source group, suppressed. Pure.

The counts are `services.core.series.monthly_series` over the council totals (the same rows `report --by month`
prints), read for the agency's source group; the alert counts are the desk's own. Every count cell and total goes
through the small-number rule of services/reports/suppression.py, and a rate is shown only when its numerator
is shown and its denominator is 10 or more. Nothing here is child-level: the inputs are counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas.codes import Rule
from services.core.series import GROUPS, AggregateKey, Row, monthly_series, months_covered
from services.reports.suppression import Shown, shown_count, shown_rate, suppress_table

MONTHS_SHOWN = 12
# (key, heading): the table's columns, in the funnel's order, then the alerts the agency's contacts raised.
COLUMNS = (
    ("contacts", "Contacts made"),
    ("referred", "Progressed to referral"),
    ("assessed", "Progressed to assessment"),
    ("in_need", "Found in need"),
    ("referrals", "Referrals"),
    ("nfa", "Referrals closed NFA"),
    ("repeated_contacts", "Repeated-contact alerts"),
    ("contact_after_closure", "Contact-after-closure alerts"),
)
ALERT_RULES = {
    "repeated_contacts": Rule.REPEATED_CONTACTS.value,
    "contact_after_closure": Rule.CONTACT_AFTER_CLOSURE.value,
}
# rate -> (numerator column, denominator column)
RATES = {"conversion": ("referred", "contacts"), "nfa": ("nfa", "referrals")}
AlertCounts = Mapping[tuple[str, str], int]  # (month, rule) -> alerts raised by the agency's contacts or referrals


@dataclass(frozen=True, slots=True)
class RateCell:
    """One rate as published: the agency's, the all-partner average of its council, and its own a year before."""

    own: float | None
    all_partners: float | None
    previous_year: float | None


@dataclass(frozen=True, slots=True)
class PortalFigures:
    """What the portal publishes for one council and agency: counts ("c" when suppressed) and rates by month."""

    la_code: str
    agency: str
    months: list[str]
    cells: list[list[Shown]]  # one row per month, one cell per COLUMNS entry
    totals: list[Shown]  # the column totals over the months shown
    rates: list[dict[str, RateCell]]  # per month: "conversion" and "nfa"
    total_rates: dict[str, float | None]


def shown_months(totals: Mapping[AggregateKey, int], latest: int = MONTHS_SHOWN) -> list[str]:
    """The council's last `latest` months with any dated event (the series' own months)."""
    return months_covered(totals)[-latest:]


def previous_year(month: str) -> str:
    return f"{int(month[:4]) - 1:04d}{month[4:]}"


def agency_counts(row: Row, agency: str, alerts: AlertCounts) -> dict[str, int]:
    """The agency's counts in one series row: contacts by month received, the funnel linked to those contacts,
    referrals (and those closed NFA) by month of referral, and the alerts its contacts raised."""
    month = str(row["month"])
    return {
        "contacts": int(row[f"contacts_{agency}"] or 0),
        "referred": int(row[f"funnel_referred_{agency}"] or 0),
        "assessed": int(row[f"funnel_assessed_{agency}"] or 0),
        "in_need": int(row[f"funnel_in_need_{agency}"] or 0),
        "referrals": int(row[f"referrals_{agency}"] or 0),
        "nfa": int(row[f"nfa_referrals_{agency}"] or 0),
        **{key: int(alerts.get((month, rule), 0)) for key, rule in ALERT_RULES.items()},
    }


def all_partner_counts(row: Row) -> dict[str, int]:
    """The council's counts over every source group: the all-partner average's numerators and denominators."""
    return {
        column: sum(int(row[f"{prefix}_{group}"] or 0) for group in GROUPS)
        for column, prefix in (
            ("contacts", "contacts"),
            ("referred", "funnel_referred"),
            ("referrals", "referrals"),
            ("nfa", "nfa_referrals"),
        )
    }


def _rate(counts: Mapping[str, int], rate: str) -> float | None:
    """A rate from unpublished counts (a comparator): hidden under the same rule as a published one."""
    numerator, denominator = (counts[c] for c in RATES[rate])
    value = numerator / denominator if denominator else None
    return shown_rate(shown_count(numerator), shown_count(denominator), value)


def _published_rate(cells: Sequence[Shown], rate: str) -> float | None:
    index = {key: i for i, (key, _) in enumerate(COLUMNS)}
    numerator, denominator = (cells[index[c]] for c in RATES[rate])
    if not isinstance(numerator, int) or not isinstance(denominator, int) or not denominator:
        return None
    return shown_rate(numerator, denominator, numerator / denominator)


def portal_figures(
    la_code: str, agency: str, totals: Mapping[AggregateKey, int], alerts: AlertCounts, months: Sequence[str]
) -> PortalFigures:
    """The published figures for `months`, with each month's rates against its council and its previous year."""
    earlier = [previous_year(m) for m in months]
    rows = {str(r["month"]): r for r in monthly_series(totals, [*earlier, *months])}
    counts = [agency_counts(rows[m], agency, alerts) for m in months]
    table = suppress_table([[c[key] for key, _ in COLUMNS] for c in counts], row_totals=False, column_totals=True)
    rates = []
    for month, cells in zip(months, table.cells, strict=True):
        council = all_partner_counts(rows[month])
        before = agency_counts(rows[previous_year(month)], agency, alerts)
        rates.append({r: RateCell(_published_rate(cells, r), _rate(council, r), _rate(before, r)) for r in RATES})
    column_totals = table.column_totals or [0] * len(COLUMNS)
    total_rates = {r: _published_rate(column_totals, r) for r in RATES}
    return PortalFigures(la_code, agency, list(months), table.cells, column_totals, rates, total_rates)
