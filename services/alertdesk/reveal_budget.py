"""How many council ids one person may reveal in an hour: a sliding window per user, held in the desk's memory."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field

WINDOW = dt.timedelta(hours=1)


@dataclass(slots=True)
class RevealBudget:
    """Every reveal is audited; the budget also stops one account (or a script in its session) from undoing
    every pseudonym of a council in minutes. A restart of the desk starts everyone's window afresh.
    """

    per_hour: int = 120
    spent: defaultdict[str, deque[dt.datetime]] = field(default_factory=lambda: defaultdict(deque))

    def take(self, username: str, now: dt.datetime) -> bool:
        """Spend one reveal for `username` at `now`; False (and nothing spent) when the hour's budget is used up."""
        window = self.spent[username]
        while window and now - window[0] >= WINDOW:
            window.popleft()
        if len(window) >= self.per_hour:
            return False
        window.append(now)
        return True
