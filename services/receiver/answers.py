"""The answer to a batch, one entry per record, in the shape the pilot's sender reads.

The pilot's sender (data-to-insight's `api_pipeline`) reads a 200 as "every record accepted" and expects a JSON
list with one receipt string per record, `<date>_<time>_<uuid>`. On any other status it marks the records whose
index appears as `[i]` in the body as failed with that detail, and the rest as "valid but batch failed", to be
sent again (harmless here: a record sent twice changes nothing). So a batch with any refused record is answered
400 with a JSON object listing every record's outcome, and an `errors` list of `[i] reason` lines.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["accepted", "rejected"]


@dataclass(frozen=True, slots=True)
class RecordAnswer:
    """One record's outcome: accepted with a receipt, or rejected with a reason that names no child."""

    index: int
    outcome: Outcome
    receipt: str | None = None
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"index": self.index, "status": self.outcome}
        if self.receipt is not None:
            body["receipt"] = self.receipt
        if self.reason is not None:
            body["reason"] = self.reason
        return body


def accepted(index: int, now: dt.datetime) -> RecordAnswer:
    return RecordAnswer(index, "accepted", receipt=receipt(now))


def rejected(index: int, reason: str) -> RecordAnswer:
    return RecordAnswer(index, "rejected", reason=reason)


def receipt(now: dt.datetime) -> str:
    """`YYYY-MM-DD_HH:MM:SS.ffffff_<uuid>` (UTC), which the pilot's sender stores against the record."""
    stamp = now.astimezone(dt.UTC)
    return f"{stamp:%Y-%m-%d}_{stamp:%H:%M:%S.%f}_{uuid.uuid4()}"


def batch_answer(answers: Sequence[RecordAnswer]) -> tuple[int, object]:
    """(HTTP status, JSON body): 200 and the receipts when every record was accepted, else 400 and every outcome."""
    if all(a.outcome == "accepted" for a in answers):
        return 200, [a.receipt for a in answers]
    refused = [a for a in answers if a.outcome == "rejected"]
    body = {
        "accepted": len(answers) - len(refused),
        "rejected": len(refused),
        "records": [a.as_json() for a in answers],
        "errors": [f"[{a.index}] {a.reason}" for a in refused],
    }
    return 400, body
