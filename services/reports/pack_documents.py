"""Writing the pack and its exception reports: each model rendered once as HTML and once as a Word document."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from services.reports.commentary import month_name
from services.reports.dip_audit import append_local, audit_record
from services.reports.dip_sample import DipSample, draw_dip_sample
from services.reports.exception import exception_sections
from services.reports.pack_docx import write_docx
from services.reports.pack_html import page
from services.reports.pack_model import Indicator, PackModel
from services.reports.pack_source import CouncilSeries

SUPPRESSION_NOTE = (
    "Small numbers: counts from 1 to 4 are shown as c, with further cells hidden where a total would reveal "
    "them; rates are not shown when the denominator is under 10 or the numerator is hidden (docs/reports.md)."
)


def footer(model: PackModel) -> list[str]:
    return [
        SUPPRESSION_NOTE,
        f"Source: {model.events:,} events of council {model.la_code} through the same core as `frontdoor report "
        f"--by month` ({model.rejected:,} rejected). Benchmarks: DfE C1 and D3, latest published year.",
    ]


def write_pack(model: PackModel, out: Path) -> list[Path]:
    stem = out / f"pack-{model.la_code}-{model.first_month}-to-{model.last_month}"
    title = f"{model.name}: the front door, {month_name(model.first_month)} to {month_name(model.last_month)}"
    subtitle = "Scrutiny report pack: re-referrals, repeat child protection plans, the funnel, presenting issues."
    html = stem.with_suffix(".html")
    html.write_text(page(title, subtitle, model.sections, footer(model)), encoding="utf-8")
    docx = stem.with_suffix(".docx")
    write_docx(docx, title, subtitle, model.sections, footer(model))
    return [html, docx]


def exception_sample(
    model: PackModel, series: CouncilSeries, indicator: Indicator, seed: int, size: int
) -> DipSample | None:
    """The dip sample of the indicator's last red quarter (re-referrals by closing team), or None if too small."""
    quarter = model.quarters[indicator.key][-1].quarter
    try:
        return draw_dip_sample(series.rereferrals, model.la_code, quarter, size=size, by="closing-team", seed=seed)
    except ValueError:
        return None


def write_exceptions(
    model: PackModel, series: CouncilSeries, out: Path, *, seed: int, size: int, user: str
) -> list[Path]:
    """An exception report (HTML and Word) for each indicator red in the last two complete quarters."""
    written: list[Path] = []
    for indicator in model.red_two_quarters():
        sample = exception_sample(model, series, indicator, seed, size)
        quarter = model.quarters[indicator.key][-1].quarter
        stem = out / f"exception-{model.la_code}-{indicator.key}-{quarter}"
        title = f"{model.name}: exception report, {indicator.title.lower()}"
        subtitle = f"Red for two consecutive quarters to {quarter}. Draft for the performance board."
        sections = exception_sections(model, indicator, sample)
        stem.with_suffix(".html").write_text(page(title, subtitle, sections, footer(model)), encoding="utf-8")
        write_docx(stem.with_suffix(".docx"), title, subtitle, sections, footer(model))
        written += [stem.with_suffix(".html"), stem.with_suffix(".docx")]
        if sample is not None:  # a sample was drawn, even if only its counts are shown: it is audited
            record = audit_record(sample, user, dt.datetime.now(dt.UTC), [stem.with_suffix(".html").name])
            written.append(append_local(out, record))
    return written
