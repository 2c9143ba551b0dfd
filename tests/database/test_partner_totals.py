"""The partner portal's council totals on both backends: the same counts as the core's, batch by batch."""

from __future__ import annotations

from collections import Counter

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


def test_the_desks_totals_equal_the_cores_whatever_the_batches_and_a_retraction_takes_its_count_away(
    model: ReadModel,
) -> None:
    events = [
        *journeys("886", "2024-05", 12, ReferralSource.POLICE, referred=6, in_need=3),
        *journeys("886", "2024-06", 9, ReferralSource.SCHOOLS, referred=4, in_need=2),
        *journeys("353", "2024-05", 7, ReferralSource.POLICE, referred=5, in_need=5),
    ]
    events.append(make_retraction(events[0], "2024-07-01"))  # Kent's first police contact, retracted
    for start in range(0, len(events), 17):  # batches that split children's events
        batch = Batch()
        for event in events[start : start + 17]:
            batch.add(event)
        project(model.db, batch, None)
    engine = Engine(DEFAULT_CONFIG, alerts=False)
    for event in events:
        engine.apply(event)
    for la_code in ("886", "353"):
        expected = core_totals((h for (la, _), h in engine.children.items() if la == la_code), DEFAULT_CONFIG)
        wanted = Counter({k: n for k, n in expected.items() if k[1] in PORTAL_MEASURES})
        assert council_totals(model.db, la_code) == wanted
    assert council_totals(model.db, "886")[("2024-05", "contacts", "police")] == 11


def test_agency_alert_counts_are_by_month_and_rule_for_that_agency_only(model: ReadModel) -> None:
    batch = Batch()
    for n, group in enumerate(["police", "police", "schools"]):
        batch.add(make_contacts_alert(child_key=f"child-{n}", source_group=group))
    project(model.db, batch, None)
    counts = model.agency_alerts("886", "police", ("repeated_contacts", "contact_after_closure"))
    assert counts == {("2024-06", "repeated_contacts"): 2}
