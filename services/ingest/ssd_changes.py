"""SSD contacts against what the door last published for each contact: retract what changed, emit only what is new.

As the DfE CSC API translator does for a changed item (csc_translate.py): a contact whose decision changed in a
later extract has its old ContactDecided retracted (`EventRetracted`) and the new one emitted; a contact sent again
unchanged emits nothing. Ids the door withdrew are never used again (the core keeps retractions as tombstones for
good), so a decision changed back to an earlier outcome comes back under that outcome's next id. Pure: the states
are loaded and stored by the caller (services/kafka/previous_records.py with `ingest --to kafka`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.events import InboundEvent
from schemas.ssd_contacts import SsdContactState
from services.ingest.identity import event_id, retraction

ID_SOURCE = "ssd-contacts"  # the id namespace of this door's events


def fresh_id(retracted: frozenset[str], *parts: object) -> str:
    """The event id of `parts`, or its next generation while the door withdrew that id before for this contact."""
    eid, generation = event_id(ID_SOURCE, *parts), 0
    while eid in retracted:
        generation += 1
        eid = event_id(ID_SOURCE, *parts, generation)
    return eid


@dataclass(slots=True)
class ContactStates:
    """Each contact's state by its pseudonym (`changed`: those changed since it was made, to store after publishing)."""

    states: dict[str, SsdContactState] = field(default_factory=dict)
    changed: dict[str, SsdContactState] = field(default_factory=dict)

    def retracted(self, contact_key: str) -> frozenset[str]:
        state = self.states.get(contact_key)
        return frozenset(state.retracted) if state is not None else frozenset()

    def change(self, contact_key: str, events: Sequence[InboundEvent], recorded_at: dt.datetime) -> list[InboundEvent]:
        """What a contact's row changes: retractions of the events it no longer stands for, then its new events.

        `events` are every event the row stands for, all of one child, with ids from `fresh_id`.
        """
        previous = self.states.get(contact_key)
        standing = previous.standing if previous is not None else ()
        now = [event.event_id for event in events]
        withdrawn = [eid for eid in standing if eid not in now]
        changes: list[InboundEvent] = []
        if previous is not None:  # withdrawn from the child the contact was published for
            la_code, child_key, key_id = previous.la_code, previous.child_key, events[0].pseudonym_key_id
            changes += [
                retraction(ID_SOURCE, eid, la_code=la_code, child_key=child_key, at=recorded_at, key_id=key_id)
                for eid in withdrawn
            ]
        changes += [event for event in events if event.event_id not in standing]
        if changes or previous is None:
            state = SsdContactState(
                la_code=events[0].la_code,
                contact_key=contact_key,
                child_key=events[0].child_key,
                standing=tuple(now),
                retracted=(*(previous.retracted if previous is not None else ()), *withdrawn),
                updated_at=recorded_at,
            )
            self.states[contact_key] = self.changed[contact_key] = state
        return changes
