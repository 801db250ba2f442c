from __future__ import annotations

import asyncio

import pytest
import structlog

from shared.errors import CertsyncError, PermanentError, RetryableError
from trigger.jobruns import AlreadyExists, Submitted
from trigger.runs import RunRequest
from trigger.submitter import Submitter


class ScriptedJobRuns:
    """A fake `JobRuns` answering each call with the next scripted result (or raising it)."""

    def __init__(self, *script: Submitted | AlreadyExists | Exception) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, str]] = []
        self.gate: asyncio.Event | None = None  # holds calls for `held` until set
        self.held = ""
        self.entered = asyncio.Event()

    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        self.calls.append((name, notification_json))
        self.entered.set()
        if self.gate is not None and name == self.held:
            await self.gate.wait()
        result = self.script.pop(0) if self.script else Submitted(name)
        if isinstance(result, Exception):
            raise result
        return result


def submit(fake: ScriptedJobRuns) -> Submitter:
    submitter = Submitter(fake)
    asyncio.run(submitter.submit("certsync-0123456789ab", '{"id": "1"}'))
    return submitter


def events(logs: list[structlog.typing.EventDict]) -> list[str]:
    return [e["event"] for e in logs]


def test_a_submission_is_logged_with_its_attempts() -> None:
    fake = ScriptedJobRuns()

    with structlog.testing.capture_logs() as logs:
        submit(fake)

    assert fake.calls == [("certsync-0123456789ab", '{"id": "1"}')]
    [line] = logs
    assert line["event"] == "job_run_submitted"
    assert line["ce_jobrun"] == "certsync-0123456789ab"
    assert line["attempts"] == 1


def test_an_existing_run_is_success() -> None:
    fake = ScriptedJobRuns(AlreadyExists("certsync-0123456789ab", attempts=2))

    with structlog.testing.capture_logs() as logs:
        submit(fake)

    assert events(logs) == ["job_run_exists"]
    assert logs[0]["log_level"] == "info"
    assert logs[0]["attempts"] == 2


def test_a_failure_the_adapter_gave_up_on_is_logged_as_an_error() -> None:
    fake = ScriptedJobRuns(RetryableError("create job run failed with HTTP 503", status=503))

    with structlog.testing.capture_logs() as logs:
        submitter = submit(fake)

    [failure] = logs
    assert failure["event"] == "job_run_submit_failed"
    assert failure["log_level"] == "error"
    assert failure["status"] == 503
    assert failure["error_type"] == "RetryableError"
    assert submitter.in_flight == frozenset()


@pytest.mark.parametrize(
    "error",
    [
        PermanentError("create job run failed with HTTP 404: job not found", status=404),
        PermanentError("create job run failed with HTTP 400: invalid name", status=400),
    ],
)
def test_permanent_errors_are_logged_with_their_message(error: CertsyncError) -> None:
    fake = ScriptedJobRuns(error)

    with structlog.testing.capture_logs() as logs:
        submit(fake)

    assert len(fake.calls) == 1
    assert events(logs) == ["job_run_submit_failed"]
    assert logs[0]["error"] == str(error)


def test_a_bug_is_logged_with_its_traceback_and_does_not_escape() -> None:
    fake = ScriptedJobRuns(KeyError("a bug"))

    with structlog.testing.capture_logs() as logs:
        submitter = submit(fake)

    [line] = logs
    assert line["event"] == "job_run_submit_failed"
    assert line["exc_info"] is True
    assert submitter.in_flight == frozenset()


def test_a_name_already_being_submitted_is_not_submitted_again() -> None:
    fake = ScriptedJobRuns()
    fake.held = "certsync-0123456789ab"
    submitter = Submitter(fake)

    async def scenario() -> None:
        fake.gate = asyncio.Event()
        fake.entered = asyncio.Event()
        first = asyncio.create_task(submitter.submit("certsync-0123456789ab", "{}"))
        await fake.entered.wait()
        assert submitter.in_flight == {"certsync-0123456789ab"}
        await submitter.submit("certsync-0123456789ab", "{}")  # returns at once
        await submitter.submit("certsync-ba9876543210", "{}")  # another name is not held up
        assert fake.gate is not None
        fake.gate.set()
        await first

    with structlog.testing.capture_logs() as logs:
        asyncio.run(scenario())

    assert [name for name, _ in fake.calls] == ["certsync-0123456789ab", "certsync-ba9876543210"]
    assert "job_run_skipped" in events(logs)
    assert submitter.in_flight == frozenset()


def test_runs_started_together_are_all_submitted_once_drained() -> None:
    fake = ScriptedJobRuns()
    submitter = Submitter(fake)
    runs = [RunRequest(f"certsync-0123456789ab-{n}", "{}", (f"s-{n}",)) for n in (1, 2, 3)]

    async def scenario() -> None:
        await submitter.submit_all(runs)  # returns at once: nothing submitted yet
        assert fake.calls == []
        await submitter.drain(timeout=5)

    with structlog.testing.capture_logs() as logs:
        asyncio.run(scenario())

    assert sorted(name for name, _ in fake.calls) == [run.name for run in runs]
    assert events(logs) == ["job_run_submitted"] * 3
    assert submitter.in_flight == frozenset()


def test_a_redelivery_while_the_first_is_in_flight_is_skipped() -> None:
    fake = ScriptedJobRuns()
    submitter = Submitter(fake)
    run = RunRequest("certsync-0123456789ab", "{}", ("s-1",))

    fake.held = run.name

    async def scenario() -> None:
        fake.gate, fake.entered = asyncio.Event(), asyncio.Event()
        await submitter.submit_all([run])
        await fake.entered.wait()  # the first is in flight, held by Code Engine
        await submitter.submit_all([run])
        await asyncio.sleep(0)  # the redelivery's task runs, and is skipped
        fake.gate.set()
        await submitter.drain(timeout=5)

    with structlog.testing.capture_logs() as logs:
        asyncio.run(scenario())

    assert len(fake.calls) == 1
    assert sorted(events(logs)) == ["job_run_skipped", "job_run_submitted"]
