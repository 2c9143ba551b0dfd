"""One Annex A row -> canonical events: a builder per list, each saying which values it needs and why a row fails.

A problem with a value the row's main event needs (child id, its date, a readable source) rejects the row. A
problem with a value only a follow-on event needs (NFA flag, authorisation, ICPC date, plan end) drops just that
event and reports the row with why, so the main event is not lost to a problem elsewhere in the row.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from schemas.codes import PrimaryNeed, ReferralSource
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    ContactDecided,
    ContactReceived,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    ICPCHeld,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
    S47Started,
)
from services.ingest.annex_a_columns import heading
from services.ingest.annex_a_values import (
    clean_text,
    parse_closure_reason,
    parse_contact_outcome,
    parse_count,
    parse_date,
    parse_primary_need,
    parse_source,
    parse_yes_no,
)
from services.ingest.identity import Pseudonymiser, event_id, referral_id, start_of_day

Row = Mapping[str, object]  # field name (see annex_a_columns.FIELD_ALIASES) -> raw cell value
_T = TypeVar("_T")
_LABEL_MAX = 200  # schemas.events.Label


class RowRejected(Exception):
    """The row cannot become its event; `reason` names the column and the problem, never a child id."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Built:
    """What one row became: its events, and follow-on events that could not be made, with why."""

    events: list[InboundEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tally:
    """What the whole workbook told us beyond single events: for notes, enrichment and the List 3 check."""

    unknown_source: Counter[int] = field(default_factory=Counter)
    grouped_source: Counter[int] = field(default_factory=Counter)
    unrecognised_need: int = 0
    needs: dict[str, PrimaryNeed] = field(default_factory=dict)  # referral_id -> List 6 primary need
    referrals: dict[str, list[tuple[dt.date, int | None]]] = field(default_factory=dict)  # child_key -> rows


class ListReader:
    """Builds events from rows of one workbook; holds the tallies the workbook-level notes need."""

    def __init__(self, la_code: str, pseudonymiser: Pseudonymiser, recorded_at: dt.datetime) -> None:
        self.la_code = la_code
        self.pseudonymiser = pseudonymiser
        self.key_id = pseudonymiser.key_id(la_code)  # one council per workbook: one key id on every event
        self.recorded_at = recorded_at
        self.tally = Tally()
        self.headings: Mapping[str, str] = {}  # field -> the heading as this sheet writes it, for reasons

    def _name(self, name: str) -> str:
        return self.headings.get(name) or heading(name)

    def build(self, number: int, row: Row) -> Built:
        builders: dict[int, Callable[[Row], Built]] = {
            1: self.contact,
            3: self.referral,
            4: self.assessment,
            5: self.s47,
            6: self.child_in_need,
            7: self.cp_plan,
        }
        return builders[number](row)

    def contact(self, row: Row) -> Built:
        child, day = self._child(row), self._required_date(row, "contact_date")
        source = self._source(row, "contact_source", 1)
        contact_id = event_id("annex-a contact", self.la_code, child, day.isoformat(), source.value)
        received = ContactReceived(
            **self._envelope(1, "ContactReceived", child, day, source.value),
            contact_id=contact_id,
            received_at=start_of_day(day),
            source=source,
        )
        built = Built([received])
        if "contact_outcome" in row:
            self._follow_on(built, "ContactDecided", lambda: self._decision(row, child, day, contact_id))
        return built

    def _decision(self, row: Row, child: str, day: dt.date, contact_id: str) -> ContactDecided | None:
        outcome = self._parse(parse_contact_outcome, row, "contact_outcome", "is not a recognised decision")
        if outcome is None:
            return None
        decided = self._date(row, "contact_decision_date") or day
        envelope = self._envelope(1, "ContactDecided", child, decided, contact_id)
        return ContactDecided(**envelope, contact_id=contact_id, outcome=outcome)

    def referral(self, row: Row) -> Built:
        child, day = self._child(row), self._required_date(row, "referral_date")
        source = self._source(row, "referral_source", 3)
        ref_id = referral_id(self.la_code, child, day)
        opened = ReferralOpened(
            **self._envelope(3, "ReferralOpened", child, day),
            referral_id=ref_id,
            referral_date=day,
            source=source,
            team=_label(row.get("team")),
        )
        built = Built([opened])
        self._follow_on(built, "ReferralMarkedNFA", lambda: self._nfa(row, child, day, ref_id))
        declared = _lenient(parse_count, row.get("referrals_12m"))
        self.tally.referrals.setdefault(child, []).append((day, declared))
        return built

    def _nfa(self, row: Row, child: str, day: dt.date, ref_id: str) -> ReferralMarkedNFA | None:
        # Annex A has no NFA date; the referral date is the best event time it offers.
        if not self._parse(parse_yes_no, row, "referral_nfa", "is not yes or no"):
            return None
        return ReferralMarkedNFA(**self._envelope(3, "ReferralMarkedNFA", child, day), referral_id=ref_id)

    def assessment(self, row: Row) -> Built:
        child, start = self._child(row), self._required_date(row, "assessment_start")
        assessment_id = event_id("assessment", self.la_code, child, start.isoformat())
        envelope = self._envelope(4, "AssessmentStarted", child, start)
        built = Built([AssessmentStarted(**envelope, assessment_id=assessment_id, start_date=start)])
        self._follow_on(built, "AssessmentAuthorised", lambda: self._authorised(row, child, assessment_id))
        return built

    def _authorised(self, row: Row, child: str, assessment_id: str) -> AssessmentAuthorised | None:
        day = self._date(row, "assessment_authorised")
        if day is None:
            return None
        # No answer is kept as unknown (None); an answer that is not yes or no still rejects the authorisation.
        in_need = self._parse(parse_yes_no, row, "child_in_need", "is not yes or no")
        envelope = self._envelope(4, "AssessmentAuthorised", child, day, assessment_id)
        return AssessmentAuthorised(**envelope, assessment_id=assessment_id, authorised_date=day, child_in_need=in_need)

    def s47(self, row: Row) -> Built:
        child, start = self._child(row), self._required_date(row, "s47_start")
        s47_id = event_id("s47", self.la_code, child, start.isoformat())
        built = Built([S47Started(**self._envelope(5, "S47Started", child, start), s47_id=s47_id, start_date=start)])
        self._follow_on(built, "ICPCHeld", lambda: self._icpc(row, child, s47_id))
        return built

    def _icpc(self, row: Row, child: str, s47_id: str) -> ICPCHeld | None:
        day = self._date(row, "icpc_date")
        if day is None:
            return None
        plan_started = _lenient(parse_yes_no, row.get("icpc_plan"))  # optional on the contract
        envelope = self._envelope(5, "ICPCHeld", child, day, s47_id)
        return ICPCHeld(**envelope, s47_id=s47_id, icpc_date=day, plan_started=plan_started)

    def child_in_need(self, row: Row) -> Built:
        child = self._child(row)
        start, closed = self._date(row, "cin_start"), self._date(row, "cin_closure_date")
        reason = self._parse(parse_closure_reason, row, "closure_reason", "is not an RC1-RC9 code")
        if start is not None:
            self._remember_need(row, referral_id(self.la_code, child, start))
        if closed is None and reason is None:
            return Built()  # an open episode: nothing has happened that the front door needs
        if closed is None or reason is None:
            given, missing = (
                ("closure_reason", "cin_closure_date") if closed is None else ("cin_closure_date", "closure_reason")
            )
            raise RowRejected(f"'{self._name(given)}' without '{self._name(missing)}'")
        if start is None:
            raise RowRejected(f"no '{self._name('cin_start')}' to name the episode's referral")
        closure = EpisodeClosed(
            **self._envelope(6, "EpisodeClosed", child, closed, start.isoformat()),
            referral_id=referral_id(self.la_code, child, start),
            closure_date=closed,
            reason=reason,
            closing_team=_label(row.get("team")),
            closing_worker=self.pseudonymiser.worker_name(self.la_code, _label(row.get("worker"))),
        )
        return Built([closure])

    def _remember_need(self, row: Row, ref_id: str) -> None:
        try:
            need = parse_primary_need(row.get("primary_need"))
        except ValueError:
            self.tally.unrecognised_need += 1
            return
        if need is not None:
            self.tally.needs[ref_id] = need

    def cp_plan(self, row: Row) -> Built:
        child, start = self._child(row), self._required_date(row, "cpp_start")
        plan_id = event_id("cp plan", self.la_code, child, start.isoformat())
        previous = _lenient(parse_count, row.get("previous_plans"))
        started = CPPStarted(
            **self._envelope(7, "CPPStarted", child, start),
            plan_id=plan_id,
            start_date=start,
            previous_plans=previous if previous is not None and previous <= 99 else None,
        )
        built = Built([started])
        self._follow_on(built, "CPPEnded", lambda: self._plan_end(row, child, plan_id))
        return built

    def _plan_end(self, row: Row, child: str, plan_id: str) -> CPPEnded | None:
        day = self._date(row, "cpp_end")
        if day is None:
            return None
        return CPPEnded(**self._envelope(7, "CPPEnded", child, day, plan_id), plan_id=plan_id, end_date=day)

    # --- shared pieces -------------------------------------------------------------------------------

    def _envelope(self, number: int, kind: str, child: str, day: dt.date, *key: str) -> dict[str, Any]:
        material = ("annex-a", f"list {number}", kind, self.la_code, child, day.isoformat(), *key)
        return {
            "event_id": event_id(*material),
            "occurred_at": start_of_day(day),
            "recorded_at": self.recorded_at,
            "la_code": self.la_code,
            "child_key": child,
            "pseudonym_key_id": self.key_id,
        }

    def _child(self, row: Row) -> str:
        raw = clean_text(row.get("child_id"))
        if raw is None:
            raise RowRejected(f"no '{self._name('child_id')}'")
        return self.pseudonymiser.pseudonymise_child(self.la_code, raw).pseudonym

    def _date(self, row: Row, name: str) -> dt.date | None:
        return self._parse(parse_date, row, name, "is not a readable date")

    def _required_date(self, row: Row, name: str) -> dt.date:
        day = self._date(row, name)
        if day is None:
            raise RowRejected(f"no '{self._name(name)}'")
        return day

    def _source(self, row: Row, name: str, number: int) -> ReferralSource:
        parsed = self._parse(parse_source, row, name, "is not a recognised source code or label")
        if parsed is None:
            # Blank means the council did not record it: Ofsted's own code for that is 10 (Unknown).
            self.tally.unknown_source[number] += 1
            return ReferralSource.UNKNOWN
        code, exact = parsed
        if not exact:
            self.tally.grouped_source[number] += 1
        return code

    def _parse(self, parse: Callable[[object], _T], row: Row, name: str, problem: str) -> _T:
        try:
            return parse(row.get(name))
        except ValueError:
            raise RowRejected(f"'{self._name(name)}' {problem}") from None

    @staticmethod
    def _follow_on(built: Built, kind: str, make: Callable[[], InboundEvent | None]) -> None:
        try:
            event = make()
        except RowRejected as exc:
            built.problems.append(f"{exc.reason}: {kind} not made ({type(built.events[0]).__name__} kept)")
            return
        if event is not None:
            built.events.append(event)


def _lenient(parse: Callable[[object], _T | None], value: object) -> _T | None:
    """For optional attributes: an unreadable value is treated as not given."""
    try:
        return parse(value)
    except ValueError:
        return None


def _label(value: object) -> str | None:
    text = clean_text(value)
    return None if text is None else text[:_LABEL_MAX]
