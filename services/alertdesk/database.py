"""The read model's database: SQLite (embedded default, WAL) or PostgreSQL, one schema and the same SQL for both.

SQL is written once with `?` placeholders; for PostgreSQL (psycopg 3) they become `%s`. Booleans are stored as
0/1 integers and dates as ISO text, so comparisons and indexes behave the same in both.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

Dialect = Literal["sqlite", "postgresql"]

TABLES = (
    "desk_alerts", "desk_waiting_actions", "desk_counters", "desk_offsets", "desk_timeline", "desk_council_totals",
)  # fmt: skip
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS desk_alerts (
        alert_id TEXT PRIMARY KEY, la_code TEXT NOT NULL, child_key TEXT NOT NULL, rule TEXT NOT NULL,
        severity TEXT NOT NULL, team TEXT, status TEXT NOT NULL, is_open INTEGER NOT NULL, history INTEGER NOT NULL,
        anchor_date TEXT NOT NULL, source_group TEXT, outcome TEXT, raised_seq BIGINT NOT NULL, seq BIGINT NOT NULL,
        body TEXT NOT NULL)""",
    # The feed's default view (open, live or history, newest first), then one index per filter.
    "CREATE INDEX IF NOT EXISTS desk_alerts_feed ON desk_alerts (la_code, history, is_open, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_changed ON desk_alerts (la_code, seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_child ON desk_alerts (la_code, child_key)",
    # The feed by child (bychild.py): "is this the child's newest matching alert?" reads only that child's rows.
    "CREATE INDEX IF NOT EXISTS desk_alerts_child_newest ON desk_alerts "
    "(la_code, child_key, history, is_open, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_severity ON desk_alerts (la_code, severity, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_rule ON desk_alerts (la_code, rule, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_team ON desk_alerts (la_code, team, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_status ON desk_alerts (la_code, status, raised_seq)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_anchor ON desk_alerts (la_code, anchor_date)",
    "CREATE INDEX IF NOT EXISTS desk_alerts_agency ON desk_alerts (la_code, source_group, rule)",
    """CREATE TABLE IF NOT EXISTS desk_waiting_actions (
        alert_id TEXT NOT NULL, arrival BIGINT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (alert_id, arrival))""",
    "CREATE TABLE IF NOT EXISTS desk_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS desk_offsets (
        topic TEXT NOT NULL, partition_id INTEGER NOT NULL, next_offset BIGINT NOT NULL,
        PRIMARY KEY (topic, partition_id))""",
    """CREATE TABLE IF NOT EXISTS desk_timeline (
        event_id TEXT PRIMARY KEY, la_code TEXT NOT NULL, child_key TEXT NOT NULL, event_date TEXT NOT NULL,
        type TEXT NOT NULL, body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS desk_timeline_child ON desk_timeline (la_code, child_key, event_date)",
    # The partner portal's source: the latest council-month snapshot from the worker's totals topic, the cells of
    # the measures the portal shows as JSON (services.alertdesk.totals).
    """CREATE TABLE IF NOT EXISTS desk_council_totals (
        la_code TEXT NOT NULL, month TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (la_code, month))""",
    # Gone: the desk's own copy of every child's history and the totals it summed from them. Its events offsets stay,
    # since the timeline still reads the events; the totals topic starts from its beginning.
    "DROP TABLE IF EXISTS desk_children",
    "DROP TABLE IF EXISTS desk_totals",
    # Dip samples loaded by people, not projected from a topic: not in TABLES, so a rebuild keeps them.
    """CREATE TABLE IF NOT EXISTS desk_dip_samples (
        sample_id TEXT PRIMARY KEY, la_code TEXT NOT NULL, quarter TEXT NOT NULL, loaded_by TEXT NOT NULL,
        loaded_at TEXT NOT NULL, body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS desk_dip_samples_council ON desk_dip_samples (la_code, loaded_at)",
)


class Database:
    """One connection, used from the desk's event loop; `transaction()` groups writes atomically."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect: Dialect = "postgresql" if url.startswith(("postgresql:", "postgres:")) else "sqlite"
        self._connection: Any = _connect(url, self.dialect)
        self._in_transaction = False

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.execute(self._sql(sql), tuple(params))
        return list(cursor.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection.execute(self._sql(sql), tuple(params))

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        if self.dialect == "postgresql":
            with self._connection.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
        else:
            self._connection.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_transaction:  # nested: part of the outer transaction
            yield
            return
        self._in_transaction = True
        try:
            if self.dialect == "postgresql":
                with self._connection.transaction():
                    yield
            else:
                self._connection.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    self._connection.execute("ROLLBACK")
                    raise
                self._connection.execute("COMMIT")
        finally:
            self._in_transaction = False

    def create_schema(self) -> None:
        with self.transaction():
            for statement in SCHEMA:
                self.execute(statement)

    def analyse(self) -> None:
        """Refresh the planner's statistics of the alerts (both databases spell it ANALYZE), as after a rebuild:
        without them a fresh PostgreSQL guesses the table tiny and may answer the feed by child with a quadratic plan.
        """
        self.execute("ANALYZE desk_alerts")  # the feed's table; the timeline's plans need no statistics

    def drop_schema(self) -> None:
        """`--rebuild`: the projection is thrown away and replayed from the topics."""
        with self.transaction():
            for table in TABLES:
                self.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._connection.close()


def _connect(url: str, dialect: Dialect) -> Any:
    if dialect == "postgresql":
        import psycopg  # noqa: PLC0415  # only a PostgreSQL deployment needs the driver loaded

        return psycopg.connect(url, autocommit=True)
    # sqlite:///relative.db, sqlite:////absolute/path.db (as SQLAlchemy spells them), sqlite:///:memory:
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ":memory:"
    connection = sqlite3.connect(path or ":memory:", isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection
