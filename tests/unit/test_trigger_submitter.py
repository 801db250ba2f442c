from __future__ import annotations

import asyncio
import threading

import anyio.to_thread
import pytest
import structlog

from shared.errors import CertsyncError, PermanentError, RetryableError
from trigger.jobruns import AlreadyExists, Submitted
from trigger.submitter import Submitter


class ScriptedJobRuns:
    """A fake `JobRuns` answering each call with the next scripted result (or raising it)."""

    def __init__(self, *script: Submitted | AlreadyExists | Exception) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, str]] = []
        self.gate: threading.Event | None = None  # holds calls for `held` until set
        self.held = ""
        self.entered = threading.Event()

    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        self.calls.append((name, notification_json))
        self.entered.set()
        if self.gate is not None and name == self.held:
            self.gate.wait(10)
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
    fake.gate = threading.Event()
    fake.held = "certsync-0123456789ab"
    submitter = Submitter(fake)

    async def scenario() -> None:
        first = asyncio.create_task(submitter.submit("certsync-0123456789ab", "{}"))
        assert await anyio.to_thread.run_sync(fake.entered.wait, 5)
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
