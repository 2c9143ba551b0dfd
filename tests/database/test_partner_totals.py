"""The partner portal's council totals on both backends: the worker's latest snapshot of each council-month."""

from __future__ import annotations

from collections import Counter

import pytest

from schemas.codes import ReferralSource
from services.alertdesk.projection import Batch, project
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.totals import PORTAL_MEASURES, council_totals
from services.core.aggregates import council_totals as core_totals
from services.core.config import DEFAULT_CONFIG
from services.core.engine import Engine
from tests.builders import make_retraction
from tests.unit.alertdesk.desk_builders import make_contacts_alert
from tests.unit.alertdesk.test_partner_portal import journeys
from tests.worker_totals import published_totals


def test_the_desks_totals_are_the_cores_whatever_the_batches_and_an_emptied_month_is_emptied(
    model: ReadModel,
) -> None:
    events = [
        *journeys("886", "2024-05", 12, ReferralSource.POLICE, referred=6, in_need=3),
        *journeys("886", "2024-06", 9, ReferralSource.SCHOOLS, referred=4, in_need=2),
        *journeys("353", "2024-05", 7, ReferralSource.POLICE, referred=5, in_need=5),
        *journeys("353", "2024-08", 1, ReferralSource.POLICE, referred=0, in_need=0),
    ]
    events.append(make_retraction(events[0], "2024-07-01"))  # Kent's first police contact, retracted
    events.append(make_retraction(events[-2], "2024-09-01"))  # Oldham's only August contact: August emptied
    snapshots = published_totals(events, 17)  # batches that split children's events: many snapshots of a month
    for start in range(0, len(snapshots), 5):
        project(model.db, Batch([(s, None) for s in snapshots[start : start + 5]]), None)
    engine = Engine(DEFAULT_CONFIG, alerts=False)
    for event in events:
        engine.apply(event)
    for la_code in ("886", "353"):
        expected = core_totals((h for (la, _), h in engine.children.items() if la == la_code), DEFAULT_CONFIG)
        wanted = Counter({k: n for k, n in expected.items() if k[1] in PORTAL_MEASURES})
        assert council_totals(model.db, la_code) == wanted
    assert council_totals(model.db, "886")[("2024-05", "contacts", "police")] == 11
    assert not [k for k in council_totals(model.db, "353") if k[0] == "2024-08"]


def test_agency_alert_counts_are_by_month_and_rule_for_that_agency_only(model: ReadModel) -> None:
    batch = Batch()
    for n, group in enumerate(["police", "police", "schools"]):
        batch.add(make_contacts_alert(child_key=f"child-{n}", source_group=group))
    project(model.db, batch, None)
    counts = model.agency_alerts("886", "police", ("repeated_contacts", "contact_after_closure"))
    assert counts == {("2024-06", "repeated_contacts"): 2}


def test_opening_an_old_desks_database_drops_its_copy_of_the_children_and_its_totals_and_keeps_its_offsets(
    model: ReadModel,
) -> None:
    db = model.db
    db.execute("CREATE TABLE desk_children (child TEXT PRIMARY KEY, body TEXT NOT NULL)")
    db.execute("CREATE TABLE desk_totals (la_code TEXT, month TEXT, measure TEXT, label TEXT, n BIGINT)")
    db.execute("INSERT INTO desk_offsets (topic, partition_id, next_offset) VALUES ('frontdoor.events.v2', 0, 42)")
    db.create_schema()  # what every start does
    for table in ("desk_children", "desk_totals"):
        with pytest.raises(Exception, match=table):  # sqlite3.OperationalError or psycopg's UndefinedTable
            db.query(f"SELECT 1 FROM {table}")
    assert model.offsets() == {("frontdoor.events.v2", 0): 42}
