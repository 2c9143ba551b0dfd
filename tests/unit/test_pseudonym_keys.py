"""A pseudonym key per council: unrelated pseudonyms across councils, the key id on every event, rotation."""

from __future__ import annotations

import csv
import json
import secrets
from pathlib import Path

import pytest

from schemas.codec import decode_event, decode_events, encode
from schemas.events import ReferralOpened
from services.ingest.identity import Pseudonymiser
from services.ingest.jsonl import read_jsonl
from services.ingest.tabular import ColumnMapping, read_csv
from services.pseudonym_keys import UnknownCouncilKeyError
from services.settings import MissingPseudonymKeyError, Settings, WeakPseudonymKeyError
from tests.builders import make_referral

KENT_KEY, CITY_KEY, KENT_OLD_KEY = (secrets.token_hex(32) for _ in range(3))
KEYS = {
    "886": {"id": "886-2026a", "key": KENT_KEY, "retired": [{"id": "886-2025a", "key": KENT_OLD_KEY}]},
    "201": {"id": "201-2026a", "key": CITY_KEY},
}
CHILD_ID = "C-000123"


def production_keys(monkeypatch: pytest.MonkeyPatch, keys: object = KEYS) -> Settings:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", json.dumps(keys))
    return Settings()


def ingest_referral(tmp_path: Path, la_code: str, pseudonymiser: Pseudonymiser) -> ReferralOpened:
    path = tmp_path / f"{la_code}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "child_id", "referral_id", "referral_date", "source"])
        writer.writerow(["ReferralOpened", CHILD_ID, "R1", "2025-05-06", "6"])
    result = read_csv(path, ColumnMapping(), la_code, pseudonymiser)
    (event,) = result.events
    assert isinstance(event, ReferralOpened), result.rejected
    return event


def test_the_same_child_id_ingested_for_two_councils_gets_unrelated_pseudonyms_with_each_councils_key_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pseudonymiser = Pseudonymiser(production_keys(monkeypatch).pseudonym_keyring(council_files=True))

    kent = ingest_referral(tmp_path, "886", pseudonymiser)
    city = ingest_referral(tmp_path, "201", pseudonymiser)

    assert kent.child_key != city.child_key
    assert (kent.pseudonym_key_id, city.pseudonym_key_id) == ("886-2026a", "201-2026a")
    assert kent.referral_id != city.referral_id  # references too
    # Unrelated, not merely different: Kent's key, leaked, computes nothing of the City's, for any council code.
    assert KENT_KEY not in repr(pseudonymiser.key_ids("886")) + repr(Settings()) + repr(Settings().pseudonym_keyring())
    leaked = Pseudonymiser(KENT_KEY.encode())
    guesses = {leaked.pseudonymise_child(la, CHILD_ID).pseudonym for la in ("886", "201")}
    assert city.child_key not in guesses
    assert kent.child_key in guesses  # while it does reproduce Kent's


def test_the_key_id_survives_the_codec_one_event_and_a_batch_at_a_time() -> None:
    event = make_referral("2025-05-06", la_code="886").model_copy(update={"pseudonym_key_id": "886-2026a"})

    assert decode_event(encode(event)).pseudonym_key_id == "886-2026a"
    decoded = decode_events([encode(event), encode(event.model_copy(update={"event_id": "other"}))])
    assert decoded is not None and {e.pseudonym_key_id for e in decoded} == {"886-2026a"}


def test_an_event_written_before_keys_had_ids_is_still_read_with_no_key_id() -> None:
    older = json.loads(encode(make_referral("2024-05-06")))
    del older["pseudonym_key_id"]

    assert decode_event(json.dumps(older)).pseudonym_key_id is None


def test_a_key_id_that_could_carry_anything_but_a_short_name_is_refused_by_the_contract() -> None:
    event = json.loads(encode(make_referral("2024-05-06")))
    event["pseudonym_key_id"] = "886 key; see secret " + "x" * 80

    with pytest.raises(ValueError, match="pseudonym_key_id"):
        decode_event(json.dumps(event))


def test_after_a_rotation_new_events_use_the_new_key_and_the_retired_key_still_finds_older_pseudonyms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    last_year = {"886": {"id": "886-2025a", "key": KENT_OLD_KEY}}
    before = Pseudonymiser(production_keys(monkeypatch, last_year).pseudonym_keyring())
    old = before.pseudonymise_child("886", CHILD_ID)
    after = Pseudonymiser(production_keys(monkeypatch).pseudonym_keyring())

    new = after.pseudonymise_child("886", CHILD_ID)

    assert old.key_id == "886-2025a" and new.key_id == "886-2026a"
    assert new.pseudonym != old.pseudonym
    assert after.key_ids("886") == ("886-2026a", "886-2025a")
    assert after.pseudonymise_child("886", CHILD_ID, key_id="886-2025a") == old
    with pytest.raises(UnknownCouncilKeyError, match="886"):
        after.pseudonymise_child("886", CHILD_ID, key_id="201-2026a")


def test_jsonl_with_raw_child_ids_is_pseudonymised_with_the_councils_key_and_records_its_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = json.loads(encode(make_referral("2025-05-06", la_code="201")))
    del raw["child_key"], raw["pseudonym_key_id"]
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(raw | {"child_id": CHILD_ID}) + "\n", encoding="utf-8")
    pseudonymiser = Pseudonymiser(production_keys(monkeypatch).pseudonym_keyring())

    (event,) = read_jsonl(path, pseudonymiser).events

    assert (event.child_key, event.pseudonym_key_id) == tuple(pseudonymiser.pseudonymise_child("201", CHILD_ID))


def test_production_refuses_a_council_without_its_own_key_and_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyring = production_keys(monkeypatch).pseudonym_keyring()

    with pytest.raises(UnknownCouncilKeyError, match="FRONTDOOR_PSEUDONYM_KEYS"):
        Pseudonymiser(keyring).pseudonymise_child("942", CHILD_ID)


def test_production_refuses_one_key_for_every_council_and_a_key_shared_by_two_councils(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", KENT_KEY)
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEYS", raising=False)
    with pytest.raises(MissingPseudonymKeyError, match="dev profile only"):
        Settings().pseudonym_keyring()
    shared = {"886": {"id": "886-a", "key": KENT_KEY}, "201": {"id": "201-a", "key": KENT_KEY}}
    with pytest.raises(WeakPseudonymKeyError, match="used twice"):
        production_keys(monkeypatch, shared).pseudonym_keyring()


def test_a_weak_council_key_or_two_keys_with_one_id_are_refused_naming_the_council_not_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(WeakPseudonymKeyError, match=r"\[886\] key 886-a is too weak") as weak:
        production_keys(monkeypatch, {"886": {"id": "886-a", "key": "short"}}).pseudonym_keyring()
    assert "short" not in str(weak.value)  # the message names the council and key id, never the key
    twice = {"886": {"id": "886-a", "key": KENT_KEY, "retired": [{"id": "886-a", "key": KENT_OLD_KEY}]}}
    with pytest.raises(WeakPseudonymKeyError, match="share an id"):
        production_keys(monkeypatch, twice).pseudonym_keyring()


def test_the_dev_profile_falls_back_to_the_single_key_for_councils_without_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", json.dumps({"886": {"id": "886-dev", "key": KENT_KEY}}))
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY", raising=False)

    synthetic = Pseudonymiser(Settings().pseudonym_keyring(council_files=False))

    assert synthetic.key_id("886") == "886-dev"
    assert (synthetic.key_id("942") or "").startswith("shared-")
    with pytest.raises(UnknownCouncilKeyError):  # real files never take the public dev key
        Pseudonymiser(Settings().pseudonym_keyring(council_files=True)).key_id("942")
