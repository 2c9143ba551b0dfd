"""The desk's state is a fold of the alerts and actions topics: raise, revise, withdraw, and people's actions."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import Rule, Severity
from services.alertdesk.actions import AlertOutcome
from services.alertdesk.desk import memory_read_model
from services.alertdesk.projection import Batch, project
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.state import DeskState, FeedFilter
from services.alertdesk.weeks import IsoWeek
from tests.unit.alertdesk.desk_builders import (
    acknowledged,
    assigned,
    closed,
    make_contacts_alert,
    make_rereferral,
    make_two_referrals,
    noted,
    revised,
    withdrawn,
)


def projected(*messages: object) -> ReadModel:
    """The same messages through the database projection, one at a time: for the read model's queries."""
    model = memory_read_model()
    for message in messages:
        batch = Batch()
        batch.add(message)  # type: ignore[arg-type]  # builders return the message union's members
        project(model.db, batch, None)
    return model


def fold(*messages: object) -> DeskState:
    state = DeskState()
    for message in messages:
        if hasattr(message, "actor"):
            state.apply_action(message)  # type: ignore[arg-type]
        else:
            state.apply_alert(message)  # type: ignore[arg-type]
    return state


def test_a_raised_alert_becomes_a_new_record_with_the_first_sequence_number() -> None:
    alert = make_rereferral()
    state = fold(alert)
    record = state.records[alert.alert_id]
    assert (record.status, record.seq, record.raised_seq, record.alert) == ("new", 1, 1, alert)


def test_a_revision_replaces_the_whole_alert_and_takes_a_new_sequence_number() -> None:
    alert = make_rereferral(severity=Severity.MEDIUM)
    state = fold(alert, revised(alert, severity=Severity.HIGH, team="Team B"))
    record = state.records[alert.alert_id]
    assert (record.severity, record.team, record.revisions, record.seq, record.raised_seq) == (
        Severity.HIGH,
        "Team B",
        1,
        2,
        1,
    )


def test_a_withdrawn_alert_is_no_longer_open_and_says_why() -> None:
    alert = make_rereferral()
    record = fold(alert, withdrawn(alert, "the referral was retracted")).records[alert.alert_id]
    assert (record.status, record.is_open, record.withdrawn_reason) == (
        "withdrawn",
        False,
        "the referral was retracted",
    )


def test_a_revision_after_a_withdrawal_brings_the_alert_back() -> None:
    alert = make_rereferral()
    record = fold(alert, withdrawn(alert), revised(alert, team="Team C")).records[alert.alert_id]
    assert (record.status, record.team) == ("new", "Team C")


def test_redelivered_alerts_and_withdrawals_of_unknown_alerts_change_nothing() -> None:
    alert = make_rereferral()
    state = fold(alert, alert, withdrawn(make_rereferral(child_key="never-raised")))
    assert (state.seq, len(state.records)) == (1, 1)


def test_acknowledge_assign_note_and_close_are_folded_in_order() -> None:
    alert = make_rereferral()
    state = fold(alert, acknowledged(alert), assigned(alert, "Team South"), noted(alert, "Rang school"))
    record = state.records[alert.alert_id]
    assert (record.status, record.acknowledged_by, record.team, [n.text for n in record.notes]) == (
        "assigned",
        "dm.kent",
        "Team South",
        ["Rang school"],
    )
    record = fold(alert, acknowledged(alert), closed(alert, AlertOutcome.EARLY_HELP)).records[alert.alert_id]
    assert (record.status, record.outcome, record.is_open) == ("closed", AlertOutcome.EARLY_HELP, False)


def test_the_first_acknowledgement_is_kept_when_two_people_press_it() -> None:
    alert = make_rereferral()
    record = fold(alert, acknowledged(alert, "first"), acknowledged(alert, "second")).records[alert.alert_id]
    assert record.acknowledged_by == "first"


def test_an_action_that_arrives_before_its_alert_waits_for_it() -> None:
    alert = make_rereferral()
    ack = acknowledged(alert)
    state = fold(ack)
    assert state.records == {} and state.seq == 0
    state.apply_alert(alert)
    assert state.records[alert.alert_id].status == "acknowledged"
    assert state.waiting_actions == {}


def test_a_redelivered_action_is_folded_once() -> None:
    alert = make_rereferral()
    note = noted(alert)
    record = fold(alert, note, note).records[alert.alert_id]
    assert len(record.notes) == 1


def test_an_action_naming_another_council_than_its_alert_is_ignored() -> None:
    alert = make_rereferral(la_code="886")
    forged = acknowledged(alert).model_copy(update={"la_code": "353"})
    assert fold(alert, forged).records[alert.alert_id].status == "new"


def _final(state: DeskState) -> dict[str, object]:
    """A record without its sequence numbers, which depend on arrival order by design."""
    return {k: dataclasses.replace(r, seq=0, raised_seq=0) for k, r in state.records.items()}


ALERT = make_rereferral()
ALERT_STREAM = [ALERT, revised(ALERT, team="Team B")]
ACTION_STREAM = [acknowledged(ALERT), assigned(ALERT, "Team C"), noted(ALERT), closed(ALERT)]


@settings(max_examples=200, deadline=None)
@given(st.permutations([("alert", i) for i in range(2)] + [("action", i) for i in range(4)]), st.booleans())
def test_the_final_record_does_not_depend_on_how_the_two_topics_interleave(
    order: list[tuple[str, int]], duplicate: bool
) -> None:
    # Each topic keeps its own order (one partition per alert id); only the interleaving between them varies.
    alerts, actions = iter(ALERT_STREAM), iter(ACTION_STREAM)
    interleaved = [next(alerts) if kind == "alert" else next(actions) for kind, _ in order]
    if duplicate:  # a redelivered message arrives again straight after itself
        interleaved = [m for message in interleaved for m in (message, message)]
    assert _final(fold(*interleaved)) == _final(fold(*ALERT_STREAM, *ACTION_STREAM))


def test_every_change_takes_a_higher_sequence_number_and_changed_since_resumes_after_one() -> None:
    first, second = make_rereferral(child_key="a"), make_rereferral(child_key="b")
    state = projected(first, second, acknowledged(first))
    assert [(r.alert.child_key, r.seq) for r in state.changed_since("886", 0)] == [("b", 2), ("a", 3)]
    assert [r.alert.child_key for r in state.changed_since("886", 2)] == ["a"]
    assert state.changed_since("886", 3) == []


def test_queries_only_return_the_asked_councils_records() -> None:
    kent, oldham = make_rereferral(la_code="886"), make_rereferral(la_code="353")
    state = projected(kent, oldham)
    assert [r.la_code for r in state.select("886")] == ["886"]
    assert state.get("886", oldham.alert_id) is None
    assert [r.la_code for r in state.changed_since("353", 0)] == ["353"]


def test_the_feed_filters_by_severity_rule_and_team_and_hides_finished_alerts_unless_asked() -> None:
    high = make_rereferral(child_key="a", severity=Severity.HIGH, team="North")
    medium = make_two_referrals(child_key="b", team="South")
    low = make_contacts_alert(child_key="c")
    done = make_rereferral(child_key="d")
    state = projected(high, medium, low, done, closed(done))
    keys = lambda f: [r.alert.child_key for r in state.select("886", f)]  # noqa: E731
    assert keys(FeedFilter()) == ["c", "b", "a"]
    assert keys(FeedFilter(severity=Severity.HIGH)) == ["a"]
    assert keys(FeedFilter(rule=Rule.TWO_REFERRALS_IN_SIX_MONTHS)) == ["b"]
    assert keys(FeedFilter(team="South")) == ["b"]
    assert keys(FeedFilter(include_finished=True)) == ["d", "c", "b", "a"]


def test_an_alert_assigned_to_a_team_is_listed_under_that_team() -> None:
    alert = make_rereferral(team="North")
    state = projected(alert, assigned(alert, "Exploitation Team"))
    assert [r.alert_id for r in state.select("886", FeedFilter(team="Exploitation Team"))] == [alert.alert_id]


def test_the_weekly_review_lists_two_referrals_in_six_months_dated_in_the_chosen_iso_week() -> None:
    monday = make_two_referrals(child_key="mon", referral_date="2024-06-03")
    sunday = make_two_referrals(child_key="sun", referral_date="2024-06-09")
    next_monday = make_two_referrals(child_key="next", referral_date="2024-06-10")
    gone = make_two_referrals(child_key="gone", referral_date="2024-06-05")
    other_rule = make_rereferral(child_key="rr", referral_date="2024-06-05")
    elsewhere = make_two_referrals(la_code="353", child_key="else", referral_date="2024-06-05")
    state = projected(monday, sunday, next_monday, gone, withdrawn(gone), other_rule, elsewhere)
    week = IsoWeek.parse("2024-W23")
    assert (week.monday.isoformat(), week.sunday.isoformat()) == ("2024-06-03", "2024-06-09")
    assert [r.alert.child_key for r in state.weekly_review("886", week)] == ["mon", "sun"]


def test_an_iso_week_that_does_not_exist_is_refused() -> None:
    for text in ("2024-W54", "2023-W53", "2024-23", "W23"):
        try:
            IsoWeek.parse(text)
        except ValueError:
            continue
        raise AssertionError(f"{text} was accepted")
    assert str(IsoWeek.parse("2020-W53")) == "2020-W53"


def test_aggregates_are_counts_of_the_councils_alerts_without_withdrawn_ones() -> None:
    a, b, c = make_rereferral(child_key="a"), make_two_referrals(child_key="b"), make_contacts_alert(child_key="c")
    state = projected(a, b, c, withdrawn(c), closed(a, AlertOutcome.NFA), make_rereferral(la_code="353"))
    totals = state.aggregates("886")
    assert totals.total == 2
    assert totals.by_rule == {"rereferral": 1, "two_referrals_in_six_months": 1}
    assert totals.by_status == {"closed": 1, "new": 1}
    assert totals.by_outcome == {"nfa": 1}


def test_a_partners_aggregates_count_only_alerts_their_agency_raised_and_alerts_do_not_yet_say_which() -> None:
    state = projected(make_rereferral())
    assert state.aggregates("886", agency="police").total == 0
