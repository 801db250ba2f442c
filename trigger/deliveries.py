"""What this trigger instance acknowledged and refused lately: `GET /deliveries`.

`python -m deploy doctor --canary` follows one rotation through the real path; its `delivered`
hop asks the trigger whether the canary's notification arrived, and when it did not, whether
deliveries were refused (a wrong token, a source not allowed), which tells a topic filter that
lets nothing through from a destination that cannot authenticate. The route takes the same
bearer token as `/events`.

In memory and per instance: an app scaled to more than one instance answers for the instance the
request reaches, and a restart forgets. The canary treats a missing entry as unknown, not as a
failure, when a job run for the canary exists (that run proves the delivery).
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

KEEP = 100  # acknowledged notifications remembered; a canary needs the last few
REFUSALS = ("unauthorized", "forbidden")  # the outcomes a canary can explain


@dataclass(frozen=True)
class Delivery:
    notification_id: str
    secret_ids: tuple[str, ...]
    job_runs: tuple[str, ...]
    received_at: str  # RFC 3339, UTC


class Deliveries:
    def __init__(
        self, keep: int = KEEP, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._accepted: collections.deque[Delivery] = collections.deque(maxlen=keep)
        self._refused = dict.fromkeys(REFUSALS, 0)
        self._last_refused: str | None = None
        self._now = now

    def accepted(
        self, notification_id: str, secret_ids: Sequence[str], runs: Sequence[str]
    ) -> None:
        stamp = self._now().isoformat(timespec="milliseconds")
        self._accepted.append(Delivery(notification_id, tuple(secret_ids), tuple(runs), stamp))

    def refused(self, outcome: str) -> None:
        if outcome in self._refused:
            self._refused[outcome] += 1
            self._last_refused = self._now().isoformat(timespec="milliseconds")

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": [asdict(d) for d in self._accepted],
            "refused": dict(self._refused),
            "last_refused_at": self._last_refused,
        }
