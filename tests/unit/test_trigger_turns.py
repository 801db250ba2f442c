"""When background submissions may start: after arrivals pause, never later than the limit, a
few at once. A fake clock that the injected `sleep` advances: no real waiting."""

import asyncio

import pytest

from trigger.turns import Turns


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.on_sleep = lambda: None  # e.g. another request arriving meanwhile

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds
        self.on_sleep()


def turns(clock: Clock, size: int = 4) -> Turns:
    return Turns(size, quiet=0.002, max_delay=2.0, clock=clock, sleep=clock.sleep)


def enter(gate: Turns) -> None:
    async def scenario() -> None:
        async with gate.turn():
            pass

    asyncio.run(scenario())


def test_with_no_request_arriving_a_submission_starts_at_once():
    clock = Clock()

    enter(turns(clock))

    assert clock.slept == []


def test_a_submission_waits_for_a_pause_in_arrivals():
    clock = Clock()
    gate = turns(clock)
    gate.request_arrived()
    clock.now += 0.0005

    enter(gate)

    assert clock.slept == [0.0015]  # until 2 ms after the last arrival


def test_arrivals_that_never_pause_delay_a_submission_by_the_limit_only():
    clock = Clock()
    gate = turns(clock)
    gate.request_arrived()
    clock.on_sleep = gate.request_arrived

    enter(gate)

    assert sum(clock.slept) == pytest.approx(2.0)
    assert clock.slept[0] == 0.002
    assert min(clock.slept[1:-1]) == 0.01  # while requests keep coming, fewer wake-ups


def test_at_most_size_submissions_hold_a_turn():
    clock = Clock()
    gate = turns(clock, size=2)
    inside: list[int] = []
    most = 0

    async def submission(n: int, release: asyncio.Event) -> None:
        nonlocal most
        async with gate.turn():
            inside.append(n)
            most = max(most, len(inside))
            await release.wait()
            inside.remove(n)

    async def scenario() -> None:
        releases = [asyncio.Event() for _ in range(5)]
        tasks = [asyncio.create_task(submission(n, r)) for n, r in enumerate(releases)]
        for release in releases:
            await asyncio.sleep(0)
            release.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())

    assert most == 2
    assert inside == []
