"""Adapter: DfE Children in Need census XML returns (2022-2026 layouts) to canonical inbound events.

The census has no "child in need" flag on an assessment, so it is derived from the episode: an assessment
found the child not in need when the episode's PrimaryNeedCode is N9 ("cases other than children in need")
or its ReasonForClosure is RC8 (closed after assessment, no further action) or RC9 (closed after
assessment, referred to early help: RC8's 2024-25 split, still a not-in-need finding).
A referral with no ReferralSource is kept as source 10 (UNKNOWN) and counted in the notes, because losing
the referral would hide a re-referral; an unrecognised source code rejects the referral.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from schemas import events as ev
from schemas.codes import ClosureReason, PrimaryNeed, ReferralSource
from services.ingest.identity import LONDON, ChildPseudonym, Pseudonymiser, event_id, referral_id, start_of_day
from services.ingest.result import IngestResult, Rejected

_Code = TypeVar("_Code", bound=StrEnum)
_Event = TypeVar("_Event", bound=ev.InboundEvent)
_Element = etree._Element

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:T[\d:.]+)?(?:Z|[+-]\d{2}:\d{2})?$")
_LA_CODE = re.compile(r"^\d{3}$")
_CODE_SHOWN = re.compile(r"^[A-Za-z0-9]{1,4}$")
_YES, _NO = {"true", "1", "y", "yes"}, {"false", "0", "n", "no"}
_NOT_IN_NEED_CLOSURES = {
    ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA,
    ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP,
}
# (element, id kind, start date, follow-up date): each sub-record is a start plus an optional later event.
_PARTS = (
    ("Assessments", "assessment", "AssessmentActualStartDate", "AssessmentAuthorisationDate"),
    ("Section47", "s47", "S47ActualStartDate", "DateOfInitialCPC"),
    ("ChildProtectionPlans", "cpp", "CPPstartDate", "CPPendDate"),
)
# Entities unresolved and no network: a return is untrusted input from outside the service.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True)


class _Bad(Exception):
    """A source record that cannot become an event; the message is the rejection reason (no child data)."""


@dataclass(frozen=True, slots=True)
class _Return:
    """One census file: where it came from, whose it is, when it was made, and counts for its notes."""

    source: str
    la_code: str
    recorded_at: dt.datetime
    tally: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Episode:
    """One CINdetails with everything its sub-records need to build their events."""

    ret: _Return
    child_key: str
    key_id: str | None  # the council's pseudonymisation key that made child_key
    referral_date: dt.date
    primary_need: PrimaryNeed | None
    not_in_need: bool
    plan_start_dates: frozenset[dt.date]

    @property
    def referral_id(self) -> str:
        return referral_id(self.ret.la_code, self.child_key, self.referral_date)

    def sub_id(self, kind: str, start: dt.date | None) -> str:
        # Built from the pseudonymous key, never the raw id: an unkeyed hash of a sequential council id is guessable.
        return event_id("cin", kind, self.ret.la_code, self.child_key, self.referral_date, start)

    def event(self, cls: type[_Event], day: dt.date, start: dt.date | None = None, **fields: Any) -> _Event:
        """An event of this episode; its id is the natural key (child, referral, sub-record start)."""
        if "referral_id" in cls.model_fields:
            fields.setdefault("referral_id", self.referral_id)
        return cls(
            event_id=self.sub_id(cls.__name__, start),
            occurred_at=start_of_day(day),
            recorded_at=self.ret.recorded_at,
            la_code=self.ret.la_code,
            child_key=self.child_key,
            pseudonym_key_id=self.key_id,
            **fields,
        )


def read_cin_census(paths: Sequence[Path], pseudonymiser: Pseudonymiser) -> IngestResult:
    """Read census returns; an event already seen (open cases recur in yearly returns) is kept once."""
    result = IngestResult()
    result.events.extend(iter_cin_census(paths, pseudonymiser, result))
    return result


def iter_cin_census(
    paths: Sequence[Path], pseudonymiser: Pseudonymiser, tally: IngestResult
) -> Iterator[ev.InboundEvent]:
    """The events of each return in turn, streamed; reads, rejections and notes are added to `tally`.

    Only event ids are remembered across files, so years of returns for a whole council fit in memory.
    """
    seen: set[str] = set()
    collapsed: Counter[str] = Counter()
    for path in paths:
        one = _read_return(path, pseudonymiser)
        tally.read += one.read
        tally.rejected.extend(one.rejected)
        tally.notes.extend(one.notes)
        for event in one.events:
            if event.event_id in seen:
                collapsed[type(event).__name__] += 1
                continue
            seen.add(event.event_id)
            yield event
    if collapsed:
        tally.notes.append(f"episodes repeated across returns: {collapsed['ReferralOpened']}")
        tally.notes.append(f"duplicate events collapsed: {collapsed.total()}")


def _read_return(path: Path, pseudonymiser: Pseudonymiser) -> IngestResult:
    out = IngestResult()
    try:
        root = etree.parse(str(path), _PARSER).getroot()
    except etree.XMLSyntaxError as err:
        # The parser's message can quote file content, so only the line number is kept.
        out.rejected.append(Rejected(path.name, "file", f"not well-formed XML (line {err.lineno})"))
        return out
    except OSError:
        out.rejected.append(Rejected(path.name, "file", "file could not be read"))
        return out
    for el in root.iter():  # local names only: some returns carry a namespace, most carry none
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    if root.tag != "Message":
        out.rejected.append(Rejected(path.name, "file", "no Message root element"))
        return out
    ret = _return_context(root, path.name)
    for i, child in enumerate(root.iter("Child"), 1):
        _read_child(ret, i, child, pseudonymiser, out)
    if isinstance(ret, _Return):
        out.notes.extend(f"{path.name}: {what}: {n}" for what, n in sorted(ret.tally.items()))
    return out


def _return_context(root: _Element, source: str) -> _Return | Rejected:
    """The header's LA and DateTime, or the rejection every episode in the file gets."""
    la_code = next((t for s in root.iterfind("Header/Source") if (t := _text(s, "LEA"))), None)
    if la_code is None or not _LA_CODE.match(la_code):
        return Rejected(source, "", "header has no three-digit Source/LEA")
    tally: Counter[str] = Counter()
    recorded_at = _header_datetime(root)
    if recorded_at is None:
        latest = max(filter(None, (_as_date(el.text) for el in root.iter())), default=None)
        if latest is None:
            return Rejected(source, "", "header has no DateTime and the file has no dates")
        recorded_at = dt.datetime.combine(latest, dt.time(12, 0), tzinfo=LONDON)
        tally["no header DateTime, recorded_at is the latest date in the file at noon"] += 1
    return _Return(source, la_code, recorded_at, tally)


def _header_datetime(root: _Element) -> dt.datetime | None:
    text = next((t for s in root.iterfind("Header/Source") if (t := _text(s, "DateTime"))), None)
    try:
        stamp = dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    # A stamp without an offset was written by an English council's system, so it is local time.
    return stamp.replace(tzinfo=LONDON) if stamp and stamp.tzinfo is None else stamp


def _read_child(
    ret: _Return | Rejected, i: int, child: _Element, pseudonymiser: Pseudonymiser, out: IngestResult
) -> None:
    episodes = [el for el in child if el.tag == "CINdetails"]
    out.read += len(episodes)
    raw_id = _text(child.find("ChildIdentifiers"), "LAchildID")
    for j, el in enumerate(episodes, 1):
        where = f"Child #{i} CINdetails #{j}"  # ordinals only: rejections are printed, child ids never are
        if isinstance(ret, Rejected):
            out.rejected.append(replace(ret, location=where))
        elif raw_id is None:
            out.rejected.append(Rejected(ret.source, where, "missing LAchildID"))
        else:
            try:
                ep = _episode(ret, pseudonymiser.pseudonymise_child(ret.la_code, raw_id), el)
            except _Bad as bad:
                out.rejected.append(Rejected(ret.source, where, str(bad)))
                continue
            _read_episode(ep, where, el, out)


def _episode(ret: _Return, child: ChildPseudonym, el: _Element) -> _Episode:
    need = _lenient_code(PrimaryNeed, _text(el, "PrimaryNeedCode"))
    reason = _lenient_code(ClosureReason, _text(el, "ReasonForClosure"))
    plan_starts = (_as_date(_text(p, "CPPstartDate")) for p in el.iterfind("ChildProtectionPlans"))
    not_in_need = need is PrimaryNeed.N9 or reason in _NOT_IN_NEED_CLOSURES
    referral_date = _required_date(el, "CINreferralDate")
    return _Episode(
        ret, child.pseudonym, child.key_id, referral_date, need, not_in_need, frozenset(filter(None, plan_starts))
    )


def _read_episode(ep: _Episode, where: str, el: _Element, out: IngestResult) -> None:
    """The referral first; its parts are rejected one by one so a bad part never loses the referral."""
    if not _guarded(out, ep, where, partial(_referral_opened, ep, el)):
        return
    _guarded(out, ep, f"{where} PrimaryNeedCode", partial(_check_primary_need, el))
    _guarded(out, ep, f"{where} ReferralNFA", partial(_referral_nfa, ep, el))
    for name, kind, start_field, follow_field in _PARTS:
        for k, sub in enumerate(el.iterfind(name), 1):
            part = f"{where} {name} #{k}"
            if _guarded(out, ep, part, partial(_started, ep, kind, sub, start_field)):
                _guarded(out, ep, part, partial(_followed, ep, kind, sub, start_field, follow_field))
    _guarded(out, ep, f"{where} closure", partial(_episode_closed, ep, el))
    if el.find("Section47") is None:
        _guarded(out, ep, f"{where} DateOfInitialCPC", partial(_episode_icpc, ep, el))


def _episode_icpc(ep: _Episode, el: _Element) -> list[ev.InboundEvent]:
    """Older returns record the initial conference on the episode, with no Section47 block: keep it."""
    day = _date(el, "DateOfInitialCPC")
    if day is None:
        return []
    ep.ret.tally["episode-level DateOfInitialCPC read as an ICPC of the referral"] += 1
    made_plan = True if day in ep.plan_start_dates else None
    return [ep.event(ev.ICPCHeld, day, day, icpc_date=day, plan_started=made_plan)]


def _guarded(out: IngestResult, ep: _Episode, where: str, read: Callable[[], list[ev.InboundEvent]]) -> bool:
    """Run one record's reader; a failure becomes a Rejected at `where` instead of an exception."""
    try:
        out.events.extend(read())
    except _Bad as bad:
        out.rejected.append(Rejected(ep.ret.source, where, str(bad)))
        return False
    except ValidationError as err:
        # Field names only: pydantic's own message echoes the input, which may be a child's data.
        fields = sorted({str(e["loc"][0]) for e in err.errors() if e["loc"]})
        out.rejected.append(Rejected(ep.ret.source, where, f"invalid {', '.join(fields) or 'record'}"))
        return False
    return True


def _referral_opened(ep: _Episode, el: _Element) -> list[ev.InboundEvent]:
    source_text = _text(el, "ReferralSource")
    if source_text is None:
        ep.ret.tally["referrals with no ReferralSource, read as 10 (UNKNOWN)"] += 1
    source = _code(ReferralSource, "ReferralSource", source_text or ReferralSource.UNKNOWN.value)
    day = ep.referral_date
    return [ep.event(ev.ReferralOpened, day, referral_date=day, source=source, primary_need=ep.primary_need)]


def _check_primary_need(el: _Element) -> list[ev.InboundEvent]:
    """An unknown code is rejected on its own; the referral is kept without a primary need."""
    text = _text(el, "PrimaryNeedCode")
    if text is not None:
        _code(PrimaryNeed, "PrimaryNeedCode", text)
    return []


def _referral_nfa(ep: _Episode, el: _Element) -> list[ev.InboundEvent]:
    # NFA is decided at the referral stage and carries no date of its own.
    return [ep.event(ev.ReferralMarkedNFA, ep.referral_date)] if _yes_no(el, "ReferralNFA") else []


def _started(ep: _Episode, kind: str, el: _Element, start_field: str) -> list[ev.InboundEvent]:
    start = _required_date(el, start_field)
    sid = ep.sub_id(kind, start)
    if kind == "assessment":
        return [ep.event(ev.AssessmentStarted, start, start, assessment_id=sid, start_date=start)]
    if kind == "s47":
        return [ep.event(ev.S47Started, start, start, s47_id=sid, start_date=start)]
    previous = _text(el, "NumberOfPreviousCPP")
    if previous is not None and not previous.isdigit():
        raise _Bad("NumberOfPreviousCPP is not a whole number")
    count = None if previous is None else int(previous)
    return [ep.event(ev.CPPStarted, start, start, plan_id=sid, start_date=start, previous_plans=count)]


def _followed(ep: _Episode, kind: str, el: _Element, start_field: str, field: str) -> list[ev.InboundEvent]:
    """The sub-record's later event (authorised, ICPC held, plan ended), if its date is there."""
    start, day = _required_date(el, start_field), _date(el, field)
    sid = ep.sub_id(kind, start)
    if day is None:
        return []
    if kind == "assessment":
        factors = (_own_text(f) for f in el.iterfind("FactorsIdentifiedAtAssessment/AssessmentFactors"))
        found = {
            "assessment_id": sid,
            "factors": tuple(filter(None, factors)),
            "child_in_need": not ep.not_in_need,
        }
        return [ep.event(ev.AssessmentAuthorised, day, start, authorised_date=day, **found)]
    if kind == "s47":
        # A plan starting on the conference date shows the ICPC made one; otherwise the census cannot say.
        made_plan = True if day in ep.plan_start_dates else None
        return [ep.event(ev.ICPCHeld, day, start, s47_id=sid, icpc_date=day, plan_started=made_plan)]
    return [ep.event(ev.CPPEnded, day, start, plan_id=sid, end_date=day)]


def _episode_closed(ep: _Episode, el: _Element) -> list[ev.InboundEvent]:
    closed, reason_text = _date(el, "CINclosureDate"), _text(el, "ReasonForClosure")
    if closed is None:
        if reason_text is not None:
            raise _Bad("ReasonForClosure without a CINclosureDate")
        return []
    if reason_text is None:
        raise _Bad("CINclosureDate without a ReasonForClosure")
    reason = _code(ClosureReason, "ReasonForClosure", reason_text)
    return [ep.event(ev.EpisodeClosed, closed, closure_date=closed, reason=reason)]


def _own_text(el: _Element | None) -> str | None:
    """An element's own text, stripped; text stranded after a child element (mixed content) is ignored."""
    text = (el.text or "").strip() if el is not None else ""
    return text or None


def _text(parent: _Element | None, name: str) -> str | None:
    return _own_text(parent.find(name)) if parent is not None else None


def _as_date(text: str | None) -> dt.date | None:
    match = _DATE.match(text.strip()) if text else None
    try:
        return dt.date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def _date(parent: _Element, name: str) -> dt.date | None:
    """None when absent; a rejection when present but not a real date."""
    text = _text(parent, name)
    day = _as_date(text)
    if text is not None and day is None:
        raise _Bad(f"{name} is not a valid date")
    return day


def _required_date(parent: _Element, name: str) -> dt.date:
    day = _date(parent, name)
    if day is None:
        raise _Bad(f"missing {name}")
    return day


def _yes_no(parent: _Element, name: str) -> bool:
    """Returns use true/false, 0/1 (the XSD) or Y/N; an absent flag is read as no."""
    text = (_text(parent, name) or "no").casefold()
    if text not in _YES | _NO:
        raise _Bad(f"{name} is not a yes/no value")
    return text in _YES


def _code(kind: type[_Code], name: str, text: str) -> _Code:
    try:
        return kind(text.upper())
    except ValueError:
        shown = repr(text) if _CODE_SHOWN.match(text) else "(value withheld)"
        raise _Bad(f"unknown {name} code {shown}") from None


def _lenient_code(kind: type[_Code], text: str | None) -> _Code | None:
    try:
        return kind(text.upper()) if text else None
    except ValueError:
        return None
