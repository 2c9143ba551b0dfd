"""Many children's histories: routes each event to its child, follows record merges, and applies the rules."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage
from schemas.events import ChildRecordsMerged, InboundEvent
from services.core.config import DEFAULT_CONFIG, Rules
from services.core.history import ChildHistory, Outcome, merge_into

ChildId = tuple[str, str]  # (la_code, child_key): a child is known to one council under one key


@dataclass(slots=True)
class Engine:
    """The offline and live processors both drive this one class, so their results cannot differ.

    `rules` are the definitions it applies: a CouncilRules (per council, dated) or one RuleConfig for all.
    """

    rules: Rules = DEFAULT_CONFIG
    children: dict[ChildId, ChildHistory] = field(default_factory=dict)
    redirects: dict[ChildId, str] = field(default_factory=dict)  # merged record -> surviving key
    alerts: bool = True  # False: the same histories, no alert evaluated (reports that need only the facts)

    def apply(self, event: InboundEvent) -> tuple[Outcome, list[AlertMessage]]:
        if isinstance(event, ChildRecordsMerged):
            return self._merge(event)
        child = (event.la_code, event.child_key)
        if child in self.redirects:  # `resolve` only when the child was merged away: one lookup per event
            child = self.resolve(child)
        history = self.children.get(child) or self._history(child)
        return history.apply(event, self.rules, alerts=self.alerts)

    def apply_all(self, events: Iterable[InboundEvent]) -> Iterator[AlertMessage]:
        for event in events:
            yield from self.apply(event)[1]

    def resolve(self, child: ChildId) -> ChildId:
        """The record a child key leads to, through the merges applied so far."""
        la_code, key = child
        while (la_code, key) in self.redirects:
            key = self.redirects[(la_code, key)]
        return (la_code, key)

    def _history(self, child: ChildId) -> ChildHistory:
        history = self.children.get(child)
        if history is None:
            history = self.children[child] = ChildHistory(la_code=child[0], child_key=child[1])
        return history

    def _merge(self, event: ChildRecordsMerged) -> tuple[Outcome, list[AlertMessage]]:
        into_id = self.resolve((event.la_code, event.child_key))
        into = self._history(into_id)
        if event.event_id in into.seen:
            return Outcome.DUPLICATE, []
        source_id = self.resolve((event.la_code, event.merged_child_key))
        if source_id == into_id:
            into.seen.add(event.event_id)
            return Outcome.DUPLICATE, []
        self.redirects[source_id] = into_id[1]
        source = self.children.pop(source_id, None) or ChildHistory(la_code=source_id[0], child_key=source_id[1])
        return Outcome.MERGED, merge_into(into, source, event, self.rules, self.alerts)

    def standing_alert_ids(self) -> set[str]:
        """Every alert currently standing, across all children: the 'final flags'."""
        return {aid for history in self.children.values() for aid in history.standing}
