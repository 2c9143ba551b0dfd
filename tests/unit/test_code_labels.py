"""The code labels the desk shows are the DfE CIN census schema's own words for each code."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from enum import StrEnum

import pytest

from schemas.codes import (
    CLOSURE_REASON_LABELS,
    CONTACT_OUTCOME_LABELS,
    PRIMARY_NEED_LABELS,
    REFERRAL_SOURCE_LABELS,
    ClosureReason,
    ContactOutcome,
    PrimaryNeed,
    ReferralSource,
)
from tests.reference import reference_file

XS = "{http://www.w3.org/2001/XMLSchema}"


def schema_documentation() -> dict[str, str]:
    """Each enumerated code of the 2026 schema with its documentation text (codes are unique across the lists used)."""
    tree = ET.parse(reference_file("cin-census-xsd", "CIN_schema_2026.xsd"))
    texts: dict[str, str] = {}
    for enumeration in tree.iter(f"{XS}enumeration"):
        documentation = enumeration.find(f"{XS}annotation/{XS}documentation")
        if documentation is not None and documentation.text:
            text = documentation.text.replace("–", "-").replace("’", "'")  # noqa: RUF001  # the schema's typography
            texts.setdefault(enumeration.attrib["value"], text.strip().lstrip("(").strip())
    return texts


@pytest.mark.parametrize(
    ("codes", "labels"),
    [
        (ReferralSource, REFERRAL_SOURCE_LABELS),
        (PrimaryNeed, PRIMARY_NEED_LABELS),
        (ClosureReason, CLOSURE_REASON_LABELS),
        (ContactOutcome, CONTACT_OUTCOME_LABELS),
    ],
)
def test_every_code_has_a_label(codes: type[StrEnum], labels: dict[StrEnum, str]) -> None:
    assert set(labels) == set(codes)


def test_primary_need_and_closure_labels_are_the_schemas_words_exactly() -> None:
    schema = schema_documentation()
    for code, label in [*PRIMARY_NEED_LABELS.items(), *CLOSURE_REASON_LABELS.items()]:
        assert label == schema[code.value], code


def test_a_referral_source_label_is_the_schemas_words_at_most_shortened() -> None:
    schema = schema_documentation()
    for code, label in REFERRAL_SOURCE_LABELS.items():
        assert schema[code.value].casefold().startswith(label.casefold()), (code, schema[code.value])
