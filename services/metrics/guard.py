"""Cardinality guard: an exposition carries only allow-listed labels, bounded values and nothing like an id."""

from __future__ import annotations

import re
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

from services.metrics import metrics as m

ALLOWED_LABELS = frozenset({*m.BOUNDED_LABELS, m.LA_CODE, m.AREA, m.YEAR, "le", "quantile"})
# Labels of prometheus_client's own process/platform/GC collectors, allowed on their families only.
RUNTIME_LABELS = frozenset({"generation", "implementation", "major", "minor", "patchlevel", "version"})
NUMERIC_LABELS = frozenset({"le", "quantile"})
MAX_COUNCILS = 200  # England has 153 children's services authorities
MAX_SERIES_PER_FAMILY = 20_000

_LA = re.compile(m.LA_CODE_PATTERN)
_YEAR = re.compile(m.YEAR_PATTERN)
_NUMBER = re.compile(r"[+-]?(Inf|NaN|\d+(\.\d+)?([eE][+-]?\d+)?)")
IDENTIFIER_PATTERNS = {
    "hex key": re.compile(r"[0-9a-fA-F]{16,}"),  # 32-hex HMAC child keys, hashes, alert ids
    "uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    "UPN": re.compile(r"[A-Z]\d{11}[0-9A-Z]"),  # unique pupil number (13 characters)
    "long digit run": re.compile(r"\d{6,}"),  # NHS numbers, case numbers, synthetic ids like 886-0001234
    "token": re.compile(r"(?=[A-Za-z0-9_+/=-]*\d)(?=[A-Za-z0-9_+/=-]*[A-Za-z])[A-Za-z0-9_+/=-]{24,}"),
}


def looks_like_identifier(value: str, kinds: tuple[str, ...] = tuple(IDENTIFIER_PATTERNS)) -> str | None:
    """The kind of identifier `value` resembles, or None."""
    for kind in kinds:
        if IDENTIFIER_PATTERNS[kind].search(value):
            return kind
    return None


# Metric names are long snake_case words with small numbers (rolling_12_months), never tokens.
_NAME_KINDS = ("hex key", "uuid", "UPN", "long digit run")


def _value_problem(label: str, value: str) -> str | None:
    if label in NUMERIC_LABELS:
        return None if _NUMBER.fullmatch(value) else "not a number"
    if label in m.BOUNDED_LABELS:
        return None if value in m.BOUNDED_LABELS[label] else "not in its vocabulary"
    if label == m.LA_CODE:
        return None if _LA.fullmatch(value) else "not a three-digit DfE code"
    if label == m.AREA:
        return None if value in m.BENCHMARK_AREAS or _LA.fullmatch(value) else "not a benchmark area"
    if label == m.YEAR:
        return None if _YEAR.fullmatch(value) else "not a reporting year"
    return None


def check_exposition(text: str) -> list[str]:
    """Every problem found in a Prometheus text exposition; an empty list means it is safe to publish."""
    problems: list[str] = []
    la_codes: set[str] = set()
    series: dict[str, int] = defaultdict(int)
    for family in text_string_to_metric_families(text):
        ours = family.name.startswith("frontdoor_")
        allowed = ALLOWED_LABELS if ours else ALLOWED_LABELS | RUNTIME_LABELS
        if kind := looks_like_identifier(family.name, _NAME_KINDS):
            problems.append(f"{family.name}: metric name looks like a {kind}")
        for sample in family.samples:
            series[family.name] += 1
            for label, value in sample.labels.items():
                if label not in allowed:
                    problems.append(f"{sample.name}: label {label!r} is not allow-listed")
                    continue
                if label in m.BOUNDED_LABELS and value in m.BOUNDED_LABELS[label]:
                    pass  # a value from its code-named vocabulary ("cpp_subsequent_within_2y" is not a token)
                elif label not in NUMERIC_LABELS and (kind := looks_like_identifier(value)):
                    problems.append(f"{sample.name}: {label}={value!r} looks like a {kind}")
                elif ours and (problem := _value_problem(label, value)):
                    problems.append(f"{sample.name}: {label}={value!r} is {problem}")
                if label == m.LA_CODE:
                    la_codes.add(value)
    if len(la_codes) > MAX_COUNCILS:
        problems.append(f"{len(la_codes)} distinct la_code values, more than the {MAX_COUNCILS} councils allowed")
    problems += [f"{name}: {n} series" for name, n in series.items() if n > MAX_SERIES_PER_FAMILY]
    return problems
