"""Code Engine v2 emulator: the local runner that executes job runs as subprocesses.

Every array index runs as its own process, in parallel, from a background thread (never in the
request handler). A failing index is rerun up to `scale_retry_limit` times with
`JOB_INDEX_RETRY_COUNT` incremented; an attempt running longer than `scale_max_execution_time` is
killed and counts as a failed attempt (unknown whether real Code Engine retries after a timeout;
we do, as Kubernetes counts it against the backoff limit). An image that was never registered, or
an env reference to a missing secret/key, fails the index at once without retries (real Code Engine
would leave it pending until it gives up; failing is the stricter, faster signal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakecloud.ce_common import now_iso
from tests.fakecloud.ce_jobs import format_indices

JOIN_TIMEOUT = 10.0


@dataclass(frozen=True)
class Image:
    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Attempt:
    index: int
    retry: int
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "retry": self.retry,
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timed_out": self.timed_out,
        }


@dataclass
class Plan:
    """Everything a run needs, resolved at submission time."""

    name: str
    argv: list[str] | None  # None: the image is unknown
    cwd: str | None
    env: dict[str, str]  # without the per-attempt JOB_INDEX / JOB_INDEX_RETRY_COUNT
    indices: list[int]
    retry_limit: int
    max_seconds: float | None
    pending_seconds: float = 0.0
    error: str | None = None  # fails every index at once (image pull / env resolution)


@dataclass
class Execution:
    plan: Plan
    pending: set[int]
    running: set[int] = field(default_factory=set)
    succeeded: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)
    start_time: str | None = None
    completion_time: str | None = None
    procs: dict[int, subprocess.Popen[str]] = field(default_factory=dict)
    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    @property
    def status(self) -> str:
        if self.done.is_set():
            return "failed" if self.failed or self.cancelled else "completed"
        return "running" if self.start_time else "pending"

    def status_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "requested": len(self.plan.indices),
            "pending": len(self.pending),
            "running": len(self.running),
            "succeeded": len(self.succeeded),
            "failed": len(self.failed),
            "unknown": 0,
        }
        for state in ("pending", "running", "succeeded", "failed"):
            indices: set[int] = getattr(self, state)
            if indices:
                details[f"{state}_indices"] = format_indices(sorted(indices))
        if self.start_time:
            details["start_time"] = self.start_time
        if self.completion_time:
            details["completion_time"] = self.completion_time
        return details


class Runner:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._stopping = threading.Event()
        self._executions: list[Execution] = []

    def start(self, plan: Plan) -> Execution:
        execution = Execution(plan=plan, pending=set(plan.indices))
        thread = threading.Thread(
            target=self._run, args=(execution,), daemon=True, name=f"ce-{plan.name}"
        )
        execution.thread = thread
        with self._lock:
            self._executions.append(execution)
        thread.start()
        return execution

    def cancel(self, execution: Execution) -> None:
        with self._lock:
            execution.cancelled = True
            procs = list(execution.procs.values())
        for proc in procs:
            _kill(proc)

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            executions = list(self._executions)
        for execution in executions:
            self.cancel(execution)
        for execution in executions:
            if execution.thread is not None:
                execution.thread.join(JOIN_TIMEOUT)

    # -- background -------------------------------------------------------------------------
    def _run(self, execution: Execution) -> None:
        if not self._stopping.wait(execution.plan.pending_seconds):
            workers = [
                threading.Thread(
                    target=self._run_index,
                    args=(execution, index),
                    daemon=True,
                    name=f"ce-{execution.plan.name}-{index}",
                )
                for index in execution.plan.indices
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        with self._lock:
            execution.completion_time = now_iso()
            execution.done.set()

    def _run_index(self, execution: Execution, index: int) -> None:
        plan = execution.plan
        for retry in range(plan.retry_limit + 1):
            with self._lock:
                if execution.cancelled or self._stopping.is_set():
                    break
                execution.pending.discard(index)
                execution.running.add(index)
                execution.start_time = execution.start_time or now_iso()
            attempt = self._attempt(execution, index, retry)
            with self._lock:
                execution.attempts.append(attempt)
                if attempt.exit_code == 0:
                    execution.running.discard(index)
                    execution.succeeded.add(index)
                    return
            if plan.error is not None:
                break
        with self._lock:
            execution.pending.discard(index)
            execution.running.discard(index)
            execution.failed.add(index)

    def _attempt(self, execution: Execution, index: int, retry: int) -> Attempt:
        plan = execution.plan
        if plan.error is not None or plan.argv is None:
            return Attempt(index, retry, None, "", plan.error or "image not found")
        env = {**plan.env, "JOB_INDEX": str(index), "JOB_INDEX_RETRY_COUNT": str(retry)}
        with self._lock:
            if execution.cancelled or self._stopping.is_set():
                return Attempt(index, retry, None, "", "cancelled")
            proc = subprocess.Popen(
                plan.argv, cwd=plan.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                errors="replace", start_new_session=True,
            )  # fmt: skip
            execution.procs[index] = proc
        timed_out = False
        try:
            out, err = proc.communicate(timeout=plan.max_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            out, err = proc.communicate()
        with self._lock:
            execution.procs.pop(index, None)
        return Attempt(index, retry, proc.returncode, out, err, timed_out)


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The minimal environment of a container plus `extra`."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    return {**env, **extra}
