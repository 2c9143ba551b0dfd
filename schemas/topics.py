"""The topic table: every Kafka topic the services use, with its key, value contract and cleanup policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CleanupPolicy = Literal["delete", "compact"]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's name (major version in the name), what its key is, and how Kafka cleans it up."""

    name: str
    key: str
    value: str
    cleanup_policy: CleanupPolicy
    retention_ms: int | None = None
    segment_ms: int | None = None  # roll segments this often, so compaction reaches all but the newest


# Child-level topics keep what the longest rule needs (24 months) plus a margin, and no more.
CHILD_DATA_RETENTION_MS = 820 * 24 * 3600 * 1000  # about 27 months
# The audit trail of who viewed child-level data outlives the data itself (6 years, as for case records).
AUDIT_RETENTION_MS = 6 * 366 * 24 * 3600 * 1000

# Keyed by council (v1 was keyed by child): a council's events are totally ordered in one partition, so a merge of
# two child records, and the council's totals, never span partitions.
EVENTS = TopicSpec("frontdoor.events.v2", "la_code", "schemas.events.FrontDoorEvent", "delete", CHILD_DATA_RETENTION_MS)
ALERTS = TopicSpec("frontdoor.alerts.v1", "child_key", "schemas.alerts.AlertMessage", "delete", CHILD_DATA_RETENTION_MS)
DEADLETTER = TopicSpec(
    "frontdoor.deadletter.v1", "original key", "dead letter envelope", "delete", CHILD_DATA_RETENTION_MS
)
ALERT_ACTIONS = TopicSpec(
    "frontdoor.alert-actions.v1", "alert_id", "alert desk action", "delete", CHILD_DATA_RETENTION_MS
)
# Compacted: the latest sealed id per child, and a tombstone (null value) erases it. Only ingest writes it and only the
# desk reads it (deploy/kafka/kafka_security.py); no retention limit, since erasure is explicit.
IDENTITY = TopicSpec("frontdoor.identity.v1", "child_key", "schemas.identity.ChildIdentitySealed", "compact")
# Compacted: each child's previous DfE CSC API record (pseudonymised, no child details) and the event ids withdrawn
# for it, so a partial record merges into it across restarts; beside them, keyed by the contact's pseudonym, what the
# SSD contacts door last published for each contact (schemas.ssd_contacts.SsdContactState). Only ingest (and the
# receiver, as ingest) reads and writes it. A whole-child purge keeps the withdrawn ids, which must never be reused;
# erasure is a tombstone.
CSC_RECORDS = TopicSpec(
    "frontdoor.csc-records.v1",
    "child or contact pseudonym",
    "schemas.ssd_contacts.PreviousRecordValue",  # a CSC API child's CscChildState, or an SSD contact's state
    "compact",
)
AUDIT = TopicSpec("frontdoor.audit.v1", "user", "schemas.audit.AuditMessage", "delete", AUDIT_RETENTION_MS)
# Compacted: the latest whole snapshot of each council-month's totals ("<la_code>|<YYYY-MM>"), written by the worker
# that holds the council and read by the desk's partner portal. Aggregates only, so no retention limit. Every batch
# republishes the months it changed, so segments roll hourly: a desk starting cold reads about one snapshot a month
# plus the last hour's, not a week of them (Kafka's default segment.ms).
COUNCIL_TOTALS_SEGMENT_MS = 3600 * 1000
COUNCIL_TOTALS = TopicSpec(
    "frontdoor.council-totals.v1", "la_code|month", "schemas.totals.CouncilMonthTotals", "compact",
    segment_ms=COUNCIL_TOTALS_SEGMENT_MS,
)  # fmt: skip


ALL_TOPICS: tuple[TopicSpec, ...] = (
    EVENTS, ALERTS, DEADLETTER, ALERT_ACTIONS, AUDIT, IDENTITY, CSC_RECORDS, COUNCIL_TOTALS,
)  # fmt: skip
