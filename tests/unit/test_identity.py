"""Pseudonymous keys and deterministic ids shared by every ingest adapter."""

from __future__ import annotations

from schemas.events import ReferralOpened
from services.ingest.cin_census import read_cin_census
from services.ingest.identity import Pseudonymiser, referral_id
from tests.reference import reference_file

KEY = Pseudonymiser(b"identity-test-key")


def test_the_same_child_id_gives_the_same_key_in_one_council_and_different_keys_across_councils() -> None:
    assert KEY.pseudonymise_child("886", "C123").pseudonym == KEY.pseudonymise_child("886", " C123 ").pseudonym
    assert KEY.pseudonymise_child("886", "C123").pseudonym != KEY.pseudonymise_child("201", "C123").pseudonym
    another = Pseudonymiser(b"another-key")
    assert KEY.pseudonymise_child("886", "C123").pseudonym != another.pseudonymise_child("886", "C123").pseudonym


def test_no_pseudonymise_keeps_the_raw_id_for_local_reconciliation() -> None:
    assert Pseudonymiser(None).pseudonymise_child("886", "C123").pseudonym == "C123"


def test_a_census_referral_id_is_the_shared_natural_key_so_every_source_agrees() -> None:
    result = read_cin_census([reference_file("cin-census-xml", "d2i_CIN_Census_2024.xml")], KEY)
    referrals = [e for e in result.events if isinstance(e, ReferralOpened)]
    assert referrals
    for r in referrals:
        assert r.referral_id == referral_id(r.la_code, r.child_key, r.referral_date)
