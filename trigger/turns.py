"""When a background submission may start: a few at once, and after the acknowledgements.

Each submission costs the event loop about as much CPU as an acknowledgement, or more. During a
burst of deliveries (Secrets Manager rotates a batch, Event Notifications fans it out at once),
submitting as each request is answered makes every later acknowledgement wait behind the
submissions before it. Here a submission waits until no request has arrived for `quiet` seconds,
so answers go first and submissions fill the gaps, but never longer than `max_delay` after it was
queued: under load that never pauses, submissions go on at their full concurrency, so none is
starved. Concurrency is bounded by `size` (the transport's connection pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

QUIET_SECONDS = 0.002  # a gap in arrivals this long is room for a submission step
RECHECK_SECONDS = 0.01
MAX_DELAY_SECONDS = 2.0  # far inside Event Notifications' 10 s delivery timeout; a run is minutes


class Turns:
    def __init__(
        self,
        size: int,
        *,
        quiet: float = QUIET_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._size = size
        self._quiet = quiet
        self._max_delay = max_delay
        self._clock = clock
        self._sleep = sleep
        self._last_arrival = -math.inf
        self._slots: asyncio.Semaphore | None = None  # made on the loop that uses it

    @property
    def size(self) -> int:
        return self._size

    def request_arrived(self) -> None:
        self._last_arrival = self._clock()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of `size` places, entered once arrivals pause or `max_delay` has passed."""
        queued = self._clock()
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            deadline = queued + self._max_delay
            patience = 0.0
            while (now := self._clock()) < deadline:
                room_at = self._last_arrival + self._quiet
                if now >= room_at:
                    break
                await self._sleep(min(max(room_at - now, patience), deadline - now))
                # Requests kept arriving while this waited: look again less often (each look
                # costs the loop a wake-up; a submission starting 10 ms late costs nothing).
                patience = RECHECK_SECONDS
            yield
