from shared.retry import poll


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_polls_with_doubling_waits_until_the_state_arrives():
    clock, answers = Clock(), iter([None, None, None, "ready"])

    got = poll(lambda: next(answers), timeout=60, sleep=clock.sleep, clock=clock)

    assert got == "ready"
    assert clock.slept == [1.0, 2.0, 4.0]


def test_gives_up_at_the_deadline_without_overshooting_it():
    clock = Clock()

    assert poll(lambda: None, timeout=20, max_wait=15, sleep=clock.sleep, clock=clock) is None
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert clock.now == 20


def test_checks_once_even_with_no_time_left():
    calls = []

    assert poll(lambda: calls.append(1), timeout=0, sleep=lambda _: None) is None
    assert calls == [1]
