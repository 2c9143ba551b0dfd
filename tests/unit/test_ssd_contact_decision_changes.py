"""A later SSD contacts extract that changes a contact's decision retracts the old decision, as the CSC door does."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import Counter
from pathlib import Path

import pytest

from schemas.codes import ContactOutcome
from schemas.events import ContactDecided, ContactReceived, EventRetracted, InboundEvent
from services.cli import main
from services.core.aggregates import AggregateKey, council_totals
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.ssd_changes import ContactStates
from services.ingest.ssd_contacts import SsdContactsMapping, read_ssd_contacts

KEY = Pseudonymiser(b"test-key-not-a-secret-ssd-contacts")
CONFIG = RuleConfig(retention_months=None)
HEADER = (
    "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,cont_contact_source_desc,"
    "cont_contact_outcome_json"
)
NFA = 'C1,P1,2024-07-01 09:15,6,,"{""OUTCOME_NFA_FLAG"": ""Y""}"'
REFERRAL = 'C1,P1,2024-07-01 09:15,6,,"{""OUTCOME_NEW_REFERRAL_FLAG"": ""Y""}"'
UNDECIDED = "C1,P1,2024-07-01 09:15,6,,"


def extract(tmp_path: Path, night: int, *rows: str, contacts: ContactStates) -> list[InboundEvent]:
    """One night's extract read against the contacts' states as the earlier nights left them."""
    path = tmp_path / f"ssd_contacts_{night}.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    recorded = dt.datetime(2024, 7, night, 22, 0, tzinfo=LONDON)
    result = read_ssd_contacts(path, SsdContactsMapping.shipped(), "886", KEY, recorded_at=recorded, contacts=contacts)
    assert result.rejected == []
    return result.events


def monthly_totals(events: list[InboundEvent]) -> Counter[AggregateKey]:
    engine = Engine(CONFIG)
    for event in events:
        engine.apply(event)
    return council_totals(engine.children.values(), CONFIG)


def test_a_decision_changed_from_nfa_to_referral_counts_one_referral_decision_and_no_nfa(tmp_path: Path) -> None:
    contacts = ContactStates()
    first = extract(tmp_path, 1, NFA, contacts=contacts)
    second = extract(tmp_path, 2, REFERRAL, contacts=contacts)

    totals = monthly_totals([*first, *second])

    assert totals[("2024-07", "contact_decisions", "referral")] == 1
    assert totals[("2024-07", "contact_decisions", "nfa")] == 0
    assert totals[("2024-07", "contacts", "police")] == 1


def test_the_changed_decision_is_the_old_ones_retraction_then_the_new_one_and_nothing_else(tmp_path: Path) -> None:
    contacts = ContactStates()
    first = extract(tmp_path, 1, NFA, contacts=contacts)
    (old,) = [e for e in first if isinstance(e, ContactDecided)]

    retraction, decided = extract(tmp_path, 2, REFERRAL, contacts=contacts)

    assert isinstance(retraction, EventRetracted) and retraction.retracted_event_id == old.event_id
    assert retraction.child_key == old.child_key
    assert isinstance(decided, ContactDecided) and decided.outcome is ContactOutcome.REFERRAL
    assert decided.contact_id == old.contact_id


def test_an_extract_sent_again_unchanged_emits_nothing(tmp_path: Path) -> None:
    contacts = ContactStates()
    extract(tmp_path, 1, NFA, REFERRAL.replace("C1", "C2"), contacts=contacts)

    assert extract(tmp_path, 2, NFA, REFERRAL.replace("C1", "C2"), contacts=contacts) == []


def test_a_decision_changed_back_to_an_earlier_outcome_comes_back_under_a_fresh_id(tmp_path: Path) -> None:
    contacts = ContactStates()
    nights = [extract(tmp_path, n, row, contacts=contacts) for n, row in enumerate((NFA, REFERRAL, NFA), start=1)]
    first_nfa = next(e for e in nights[0] if isinstance(e, ContactDecided))
    again = next(e for e in nights[2] if isinstance(e, ContactDecided))

    totals = monthly_totals([e for night in nights for e in night])

    assert again.outcome is ContactOutcome.NFA and again.event_id != first_nfa.event_id
    assert totals[("2024-07", "contact_decisions", "nfa")] == 1
    assert totals[("2024-07", "contact_decisions", "referral")] == 0


def test_a_contact_decided_in_a_later_extract_adds_its_decision_without_retracting_anything(tmp_path: Path) -> None:
    contacts = ContactStates()
    (received,) = extract(tmp_path, 1, UNDECIDED, contacts=contacts)

    later = extract(tmp_path, 2, NFA, contacts=contacts)

    assert isinstance(received, ContactReceived)
    assert [type(e) for e in later] == [ContactDecided]


def test_the_states_hold_pseudonyms_only(tmp_path: Path) -> None:
    contacts = ContactStates()
    extract(tmp_path, 1, NFA, contacts=contacts)

    (state,) = contacts.changed.values()

    stored = state.model_dump_json()
    assert "C1" not in stored and "P1" not in stored  # pseudonyms are lower-case hex


def test_with_kafka_each_contacts_state_is_read_first_and_stored_only_after_the_events_are_published(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The broker is faked; tests/integration/test_ssd_contact_states_kafka.py runs the store on a real one."""
    import services.ingest.cli_ingest as cli  # noqa: PLC0415  # the module whose Kafka calls are replaced
    import services.kafka.previous_records as store  # noqa: PLC0415

    monkeypatch.setenv(
        "FRONTDOOR_PSEUDONYM_KEYS", json.dumps({"886": {"id": "886-test-a", "key": secrets.token_hex(32)}})
    )
    topic: dict[str, object] = {}  # contact_key -> state: the compacted topic
    steps: list[str] = []

    async def read_contact_states(_settings: object, _topic: str = "") -> dict[str, object]:
        steps.append("read states")
        return dict(topic)

    async def write_states(_settings: object, states: object, _topic: str = "") -> int:
        steps.append("write states")
        topic.update({s.contact_key: s for s in states})  # type: ignore[attr-defined]  # SsdContactState
        return len(topic)

    async def publish(_settings: object, result: object) -> int:
        steps.append(f"publish {[type(e).__name__ for e in result.events]}")  # type: ignore[attr-defined]
        return len(result.events)  # type: ignore[attr-defined]

    monkeypatch.setattr(store, "read_contact_states", read_contact_states)
    monkeypatch.setattr(store, "write_states", write_states)
    monkeypatch.setattr(cli, "_publish", publish)
    for night, row in enumerate((NFA, REFERRAL, REFERRAL)):
        source = tmp_path / f"night{night}.csv"
        source.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
        command = ["ingest", str(source), "--format", "ssd-contacts", "--la-code", "886", "--to", "kafka"]
        assert main([*command, "--no-identity-store"]) == 0
    assert steps == [
        "read states", "publish ['ContactReceived', 'ContactDecided']", "write states",
        "read states", "publish ['EventRetracted', 'ContactDecided']", "write states",
        "read states", "publish []",
    ]  # fmt: skip
