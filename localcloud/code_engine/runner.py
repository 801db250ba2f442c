"""Code Engine v2: the local runner that executes job runs as subprocesses.

Every array index runs as its own process, in parallel, from a background thread (never in the
request handler). A failing index is rerun up to `scale_retry_limit` times with
`JOB_INDEX_RETRY_COUNT` incremented; an attempt running longer than `scale_max_execution_time` is
killed and counts as a failed attempt (unknown whether real Code Engine retries after a timeout;
we do, as Kubernetes counts it against the backoff limit). An image that was never registered, or
an env reference to a missing secret, config map or key, fails the index at once without retries
(real Code Engine would leave it pending until it gives up; failing is the stricter, faster signal).

At most `max_running` instances (array indices, over all job runs) run at once; the others stay
`pending`, first come first served, until a slot frees. Docs `run-job`: "If the number or size of
the submitted jobs exceeds the configured quota limits, such as maximum number of running
instances, then Code Engine queues the jobs and delays running them until enough jobs finish."
An instance holds its slot through its retries (real Code Engine starts a new pod per retry;
whether the retry queues again is unknown).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud import zygote
from localcloud.zygote import Process

JOIN_TIMEOUT = 10.0
# "Instances (active): The number of app instances, function instances, running job instances,
# and running build instances cannot exceed 250" (docs `limits.md` "Project quotas").
MAX_RUNNING_INSTANCES = 250
# A container whose command cannot be executed ends with exit code 128 (Kubernetes' `StartError`
# with containerd; what real Code Engine shows for it is not documented).
START_ERROR = 128


@dataclass(frozen=True)
class Image:
    """A registered image as local commands: its ENTRYPOINT and CMD (`plan.process` combines
    them with a workload's commands and arguments), working directory and environment."""

    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
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
    reason: str | None = None  # the `last_failure_reason` that `error` shows as


@dataclass
class Execution:
    plan: Plan
    pending: set[int]
    running: set[int] = field(default_factory=set)
    succeeded: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)
    started: dict[int, dt.datetime] = field(default_factory=dict)  # first attempt, per index
    finished: dict[int, dt.datetime] = field(default_factory=dict)
    start_time: dt.datetime | None = None
    completion_time: dt.datetime | None = None
    procs: dict[int, Process] = field(default_factory=dict)
    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    @property
    def status(self) -> str:
        if self.done.is_set():
            return "failed" if self.failed or self.cancelled else "completed"
        return "running" if self.start_time else "pending"


class Runner:
    def __init__(
        self, lock: threading.RLock, clock: Callable[[], dt.datetime], max_running: int
    ) -> None:
        self._lock = lock
        self._clock = clock
        self._slots = threading.Condition(lock)
        self._queue: deque[object] = deque()  # instances waiting for a slot, oldest first
        self._running = 0
        self._max_running = max_running
        self._stopping = threading.Event()
        self._executions: list[Execution] = []

    @property
    def max_running(self) -> int:
        return self._max_running

    @max_running.setter
    def max_running(self, value: int) -> None:
        with self._slots:
            self._max_running = value
            self._slots.notify_all()

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
        with self._slots:
            execution.cancelled = True
            self._slots.notify_all()
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
            execution.completion_time = self._clock()
            execution.done.set()
            self._executions.remove(execution)  # shutdown has nothing left to stop

    def _run_index(self, execution: Execution, index: int) -> None:
        slot = self._take_slot(execution)
        succeeded = False
        try:
            succeeded = slot and self._attempts(execution, index)
        finally:
            with self._slots:  # one critical section: never more `running` than slots
                if slot:
                    self._running -= 1
                    self._slots.notify_all()
                execution.pending.discard(index)
                execution.running.discard(index)
                (execution.succeeded if succeeded else execution.failed).add(index)
                execution.finished[index] = self._clock()

    def _take_slot(self, execution: Execution) -> bool:
        """Wait for a free slot, first come first served; False if the run is cancelled first."""
        ticket = object()
        with self._slots:
            self._queue.append(ticket)
            self._slots.wait_for(
                lambda: (
                    self._stopped(execution)
                    or (self._queue[0] is ticket and self._running < self._max_running)
                )
            )
            self._queue.remove(ticket)
            self._slots.notify_all()  # the next in line may fit, too
            if self._stopped(execution):
                return False
            self._running += 1
            return True

    def _attempts(self, execution: Execution, index: int) -> bool:
        """Run the index, retrying up to the limit; True once an attempt succeeds."""
        plan = execution.plan
        for retry in range(plan.retry_limit + 1):
            attempt = self._attempt(execution, index, retry)
            if attempt is None:
                return False
            with self._lock:
                execution.attempts.append(attempt)
            if attempt.exit_code == 0:
                return True
            if plan.error is not None:
                return False
        return False

    def _stopped(self, execution: Execution) -> bool:
        return execution.cancelled or self._stopping.is_set()

    def _attempt(self, execution: Execution, index: int, retry: int) -> Attempt | None:
        """One attempt; None when the run was stopped before it began. The index shows as
        running from the moment its process exists (same critical section)."""
        plan = execution.plan
        env = {**plan.env, "JOB_INDEX": str(index), "JOB_INDEX_RETRY_COUNT": str(retry)}
        with self._lock:
            if self._stopped(execution):
                return None
            now = self._clock()
            execution.pending.discard(index)
            execution.running.add(index)
            execution.started.setdefault(index, now)
            execution.start_time = execution.start_time or now
            if plan.error is not None or plan.argv is None:
                return Attempt(index, retry, None, "", plan.error or "image not found")
            try:
                proc = zygote.popen(
                    plan.argv, cwd=plan.cwd, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    errors="replace", start_new_session=True,
                )  # fmt: skip
            except OSError as exc:  # the command is no executable: the container cannot start
                return Attempt(index, retry, START_ERROR, "", exec_error(plan.argv[0], exc))
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


def exec_error(command: str, exc: OSError) -> str:
    """What the container runtime reports when a container's command cannot be executed (runc:
    `exec: "<command>": executable file not found in $PATH`)."""
    return f'exec: "{command}": {exc.strerror or exc}\n'


def _kill(proc: Process) -> None:
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
