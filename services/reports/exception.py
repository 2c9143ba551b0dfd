"""The exception report: an indicator red for two consecutive quarters, drafted from the pack model it belongs to.

It holds the indicator and its definition, the quarterly outturns against target, the trend, the pack's
breakdowns, a dip-sample summary, and empty sections for the officer's reasons and actions. Every figure is
the pack model's (so the series'), and the RAG is the pack's, which the Prometheus rule agrees with.
"""

from __future__ import annotations

from services.reports import commentary as say
from services.reports.dip_sample import DipSample
from services.reports.pack_model import Chart, Column, Indicator, PackModel, Section, Table, Value
from services.reports.pack_sections import rag_table
from services.reports.suppression import shown_count

BREAKDOWNS = ("funnel", "needs", "closures")


def _trend(model: PackModel, indicator: Indicator) -> list[Chart]:
    if indicator.key == "rereferral":
        return list(model.section("rereferrals").charts)
    quarters = model.quarters.get(indicator.key, [])
    return [
        Chart(
            f"{indicator.title} by quarter against target",
            [q.quarter for q in quarters],
            {"Outturn": [q.rate for q in quarters], "Target": [q.target for q in quarters]},
            dashed=frozenset({"Target"}),
        )
    ]


def dip_sample_section(sample: DipSample | None) -> Section:
    section = Section("dip_sample", "Dip sample")
    if sample is None:
        section.commentary.append("No dip sample was drawn for this report.")
        return section
    rows: list[list[Value]] = [
        [name, shown_count(sample.population[name]), sample.allocation.get(name, 0)] for name in sample.population
    ]
    rows.append(["Period total", shown_count(sum(sample.population.values())), len(sample.drawn)])
    section.tables.append(
        Table(
            f"Re-referrals in {sample.quarter} and the dip sample, by {sample.by.replace('-', ' ')}",
            [Column("Stratum", "label"), Column("Re-referrals", "count"), Column("Sampled", "count")],
            rows,
            f"Drawn with seed {sample.seed}: `frontdoor dip-sample --la-code {sample.la_code} --quarter "
            f"{sample.quarter} --size {sample.size} --by {sample.by} --seed {sample.seed}` draws the same children.",
        )
    )
    same = sample.same_concern()
    section.commentary.append(
        f"{len(sample.drawn)} re-referrals of {sample.quarter} were sampled; {same} of them came back with the same "
        "primary need as the previous referral (before any case-file audit)."
    )
    return section


def exception_sections(model: PackModel, indicator: Indicator, sample: DipSample | None) -> list[Section]:
    statuses = model.quarters.get(indicator.key, [])
    facts = [indicator.definition]
    facts += say.rag_sentence(indicator.title, [(q.quarter, q.rate, q.target, q.status) for q in statuses])
    headline = Section(
        "indicator",
        f"{indicator.title}: red for two consecutive quarters",
        facts,
        [rag_table(indicator, statuses)],
    )
    trend_facts = [f for f in model.section("rereferrals").commentary[:3]] if indicator.key == "rereferral" else []
    trend = Section("trend", "Trend", trend_facts, [], _trend(model, indicator))
    breakdowns = [model.section(key) for key in BREAKDOWNS]
    return [
        headline,
        trend,
        *breakdowns,
        dip_sample_section(sample),
        Section("reasons", "Reasons (the officer's analysis)", for_officer=True),
        Section("actions", "Actions, owners and dates", for_officer=True),
    ]
