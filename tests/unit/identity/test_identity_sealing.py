"""The identity store's sealing, the desk's vault, erasure keys and what ingest keeps for the store."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from pydantic import SecretStr

from schemas.codec import encode
from services.identity.cli_identity import erasure_keys
from services.identity.sealing import IdentityKeyError, IdentityUnsealError, Keyring, decode_key
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from services.pseudonym_keys import PseudonymKey, PseudonymKeyring

NOW = dt.datetime(2024, 6, 5, 9, 30, tzinfo=dt.UTC)
PSEUDONYM_KEY = secrets.token_bytes(32)


def keyring(**per_council: bytes) -> Keyring:
    return Keyring(secrets.token_bytes(32), per_council)


def pseudonym(la_code: str, child_id: str) -> str:
    return Pseudonymiser(PSEUDONYM_KEY).pseudonymise_child(la_code, child_id).pseudonym


def test_a_sealed_child_id_opens_with_its_councils_key_and_the_topic_value_holds_no_plain_id() -> None:
    ring, key = keyring(), pseudonym("886", "LA-000123")

    sealed = ring.seal("886", key, "LA-000123", NOW)

    assert ring.unseal(sealed) == "LA-000123"
    assert b"LA-000123" not in encode(sealed)
    assert (sealed.la_code, sealed.child_key) == ("886", key)


def test_the_same_child_sealed_twice_gives_different_ciphertexts() -> None:
    ring, key = keyring(), pseudonym("886", "LA-1")

    assert ring.seal("886", key, "LA-1", NOW).ciphertext != ring.seal("886", key, "LA-1", NOW).ciphertext


def test_another_key_cannot_open_a_sealed_id() -> None:
    key = pseudonym("886", "LA-000123")
    sealed = keyring().seal("886", key, "LA-000123", NOW)

    with pytest.raises(IdentityUnsealError):
        keyring().unseal(sealed)


def test_a_forged_key_id_does_not_help_another_key_open_it() -> None:
    key, other = pseudonym("886", "LA-000123"), keyring()
    sealed = keyring().seal("886", key, "LA-000123", NOW)
    forged = sealed.model_copy(update={"key_id": other.seal("886", key, "x", NOW).key_id})

    with pytest.raises(IdentityUnsealError):
        other.unseal(forged)


def test_a_sealed_value_moved_under_another_child_does_not_open() -> None:
    ring = keyring()
    sealed = ring.seal("886", pseudonym("886", "LA-1"), "LA-1", NOW)
    moved = sealed.model_copy(update={"child_key": pseudonym("886", "LA-2")})

    with pytest.raises(IdentityUnsealError):
        ring.unseal(moved)


def test_each_council_uses_its_own_key_when_one_is_configured() -> None:
    kent, oldham = secrets.token_bytes(32), secrets.token_bytes(32)
    ring = Keyring(None, {"886": kent, "353": oldham})
    sealed = ring.seal("886", pseudonym("886", "LA-1"), "LA-1", NOW)

    assert Keyring(None, {"886": kent}).unseal(sealed) == "LA-1"
    with pytest.raises(IdentityUnsealError):
        Keyring(None, {"886": oldham}).unseal(sealed)
    with pytest.raises(IdentityKeyError):
        ring.seal("999", pseudonym("999", "LA-1"), "LA-1", NOW)


def test_keys_are_read_as_hex_or_base64_and_anything_but_32_bytes_is_refused() -> None:
    raw = secrets.token_bytes(32)
    ring = Keyring.from_secrets(SecretStr(raw.hex()), {"353": SecretStr(secrets.token_urlsafe(32))})

    assert ring.key_for("886") == raw
    assert len(ring.key_for("353")) == 32
    for weak in ("", "short", "00" * 16, "x" * 64):
        with pytest.raises(IdentityKeyError):
            decode_key(weak)


def test_the_vault_keeps_sealed_values_and_a_tombstone_erases_the_child() -> None:
    ring, key = keyring(), pseudonym("886", "LA-7")
    vault = IdentityVault(ring)

    vault.fold(key.encode(), encode(ring.seal("886", key, "LA-7", NOW)))
    found = vault.find(key, "886")
    assert found is not None and vault.open_for(found) == "LA-7"
    assert vault.find(key, "353") is None  # another council's staff: as unknown as no child at all

    vault.fold(key.encode(), None)
    assert vault.find(key, "886") is None


def test_the_vault_ignores_a_value_filed_under_another_childs_key_and_values_that_do_not_decode() -> None:
    ring = keyring()
    key, other = pseudonym("886", "LA-1"), pseudonym("886", "LA-2")
    vault = IdentityVault(ring)

    vault.fold(other.encode(), encode(ring.seal("886", key, "LA-1", NOW)))
    vault.fold(key.encode(), b"{not json")

    assert vault.sealed == {}
    assert vault.rejected == 2


def test_ingest_keeps_each_childs_council_id_by_pseudonym_only_when_asked() -> None:
    keeping = Pseudonymiser(PSEUDONYM_KEY, keep_identities=True)
    key = keeping.pseudonymise_child("886", " LA-42 ").pseudonym

    assert keeping.identities == {key: ("886", "LA-42")}
    assert Pseudonymiser(PSEUDONYM_KEY).identities is None
    assert Pseudonymiser(None, keep_identities=True).identities is None  # raw ids kept: nothing to map


def test_erasure_computes_the_pseudonym_ingest_made_and_refuses_a_key_that_is_not_one() -> None:
    pseudonymiser = Pseudonymiser(PSEUDONYM_KEY)
    given = pseudonym("886", "LA-9")

    assert erasure_keys(pseudonymiser, "886", ["LA-42"], [given]) == sorted({pseudonym("886", "LA-42"), given})
    with pytest.raises(ValueError, match="not pseudonyms"):
        erasure_keys(pseudonymiser, "886", [], ["LA-42"])


def test_erasure_of_a_child_id_tombstones_its_pseudonym_under_every_key_the_council_has_had() -> None:
    current, retired = PseudonymKey("886-2026a", secrets.token_bytes(32)), PseudonymKey("886-2025a", PSEUDONYM_KEY)
    rotated = Pseudonymiser(PseudonymKeyring({"886": (current, retired)}))

    erased = erasure_keys(rotated, "886", ["LA-42"], [])

    assert erased == sorted({rotated.pseudonymise_child("886", "LA-42").pseudonym, pseudonym("886", "LA-42")})
    assert len(erased) == 2
