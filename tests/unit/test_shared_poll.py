from shared.retry import Waits, poll
from tests.builders import FakeClock


def test_polls_with_doubling_waits_until_the_state_arrives():
    clock, answers = FakeClock(), iter([None, None, None, "ready"])

    got = poll(lambda: next(answers), timeout=60, sleep=clock.sleep, clock=clock)

    assert got == "ready"
    assert clock.slept == [1.0, 2.0, 4.0]


def test_gives_up_at_the_deadline_without_overshooting_it():
    clock = FakeClock()

    assert (
        poll(lambda: None, timeout=20, waits=Waits(maximum=15), sleep=clock.sleep, clock=clock)
        is None
    )
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert clock.now == 20


def test_checks_once_even_with_no_time_left():
    calls = []

    assert poll(lambda: calls.append(1), timeout=0, sleep=lambda _: None) is None
    assert calls == [1]
