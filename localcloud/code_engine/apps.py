"""Code Engine v2: the project's apps, each served by a local process.

Known real behaviour (SDK, IBM's SDK integration tests `test/integration/test_v2.py`, docs):
- create 201, get and update 200, delete 202; bodies carry an `ETag` equal to `entity_tag`;
  update is a JSON merge patch (`application/merge-patch+json`) that needs `If-Match` (`*` for
  any version), like jobs; every update creates a new revision (SDK `update_app`).
- deleting an app deletes its custom domain mappings (docs `domainmappings.md`).

Locally an app runs one process (its command line built from the image's ENTRYPOINT and CMD
and the app's `run_commands` and `run_arguments`, as for job runs: `plan.process`) on a loopback
port the emulator picks and passes as `PORT`;
scale settings are stored and shown but there is always exactly one instance (no scale to zero,
no second instance). Its stdout and stderr go to a log file (`logs`). The revision is `ready` once
the port accepts connections, `failed` if the process exits first or the port stays closed for
`ready_seconds` (reason `initial_scale_never_achieved`), or later when the process exits.

An update stops the old process (SIGTERM, then SIGKILL after `stop_seconds`, as Kubernetes does
with its grace period) and starts the new revision on the same port, in the background: the update
answers at once with the app `deploying`. When the new revision fails, the newest earlier revision
that was ready starts again and the app shows `warning` (docs `appdeploy-access.md`, "Ready (with
warnings)": "The deployment of a new application revision failed, but the original deployment is
available"; SDK `App.StatusEnum.WARNING`, `AppStatus.ReasonEnum.READY_BUT_LATEST_REVISION_FAILED`).
Unknown, stricter choices: status changes give the app a new entity tag (as for domain mappings:
Knative status writes bump `resourceVersion`); the old revision stops before the new one starts
(real Knative keeps it serving until the new one is ready), so the app serves nothing while a new
revision starts, and the old one is back only once the new one has failed.
"""

from __future__ import annotations

import builtins  # `list` in annotations: the class has a `list` method
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from localcloud import zygote
from localcloud.code_engine import app_settings
from localcloud.code_engine.app_model import App, AppSpec, Revision, injected
from localcloud.code_engine.checks import JOB_NAME, check_if_match, check_name, conflict, not_found
from localcloud.code_engine.cr_tokens import with_token_file
from localcloud.code_engine.plan import process, resolve_env
from localcloud.code_engine.pulls import pull_failure
from localcloud.code_engine.runner import JOIN_TIMEOUT, START_ERROR, base_env, exec_error
from localcloud.code_engine.scope import Runtime, Scope
from localcloud.zygote import Process

SEEDED_IMAGE = "icr.io/codeengine/helloworld"  # what a seeded app shows; it runs nothing
POLL_SECONDS = 0.02
ExitReason = Callable[[int], str]


class Apps:
    """Callers hold no lock; every method takes the project's."""

    def __init__(self, scope: Scope, runtime: Runtime, *, deleted: Callable[[str], None]) -> None:
        """`deleted(app)`: what else goes with an app (its domain mappings)."""
        self._lock = scope.lock
        self._project = scope.project
        self._now = scope.now
        self._tags = scope.tags
        self._images = runtime.images
        self._lookups = runtime.lookups
        self._tokens = runtime.tokens
        self._issue_token = functools.partial(runtime.issue_token, "application")
        self._deleted = deleted
        self._apps: dict[str, App] = {}
        self._logs: dict[str, list[Path]] = {}  # app name -> its revisions' log files
        self._log_dir: Path | None = None
        self._threads: list[threading.Thread] = []
        self._started: list[Revision] = []  # every revision given a process, deleted apps' too
        self._stopping = threading.Event()
        self.ready_seconds = 30.0  # how long a new revision may take to open its port
        self.stop_seconds = 10.0  # grace between SIGTERM and SIGKILL when a revision stops

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = check_name(body.get("name"), JOB_NAME, 63)
        settings = app_settings.app_settings(body, allowed=app_settings.CREATE_FIELDS)
        spec = app_settings.new_app_spec(settings)
        with self._lock:
            if name in self._apps:
                raise conflict("App", name)
            app = App(name, spec, self._tags.next(), self._now(), _free_port())
            self._apps[name] = app
            self._start(app, self._new_revision(app))
            return app.to_dict(self._project())

    def update(self, name: str, if_match: str | None, patch: Mapping[str, Any]) -> dict[str, Any]:
        settings = app_settings.app_settings(patch, allowed=app_settings.PATCH_FIELDS)
        with self._lock:
            app = self._found(name)
            check_if_match("App", name, if_match, app.entity_tag)
            app.spec = app_settings.patched(app.spec, settings)
            app.entity_tag = self._tags.next()
            for revision in app.revisions:  # the latest, or an earlier one serving again
                revision.stopped = True
            if app.port is None:  # a seeded app gets a process from its first update on
                app.port = _free_port()
            new = self._new_revision(app)
            self._background(self._roll_out, app, new)
            return app.to_dict(self._project())

    def get(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._found(name).to_dict(self._project())

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            project = self._project()
            return [app.to_dict(project) for app in self._apps.values()]

    def delete(self, name: str) -> None:
        """The app goes at once, its process within `stop_seconds`, its mappings with it."""
        with self._lock:
            app = self._apps.pop(name, None)
            if app is None:
                raise not_found("App", name)
            self._deleted(name)
            for revision in app.revisions:
                revision.stopped = True
                self._background(self._stop, revision)

    def revisions(self, name: str) -> builtins.list[dict[str, Any]]:
        with self._lock:
            app, project = self._found(name), self._project()
            return [r.to_dict(project, name, injected(project, app, r)) for r in app.revisions]

    def revision(self, name: str, revision: str) -> dict[str, Any]:
        with self._lock:
            app, project = self._found(name), self._project()
            for found in app.revisions:
                if found.name == revision:
                    return found.to_dict(project, name, injected(project, app, found))
            raise not_found("App revision", revision)

    def instances(self, name: str) -> builtins.list[dict[str, Any]]:
        with self._lock:
            app, project = self._found(name), self._project()
            return [r.instance(project, name) for r in app.revisions if r.running]

    # -- what the rest of the project asks ----------------------------------------------------
    def seed(self, name: str) -> None:
        """Make app `name` exist, `ready`, without a process (domain mappings need an app)."""
        check_name(name, JOB_NAME, 63)
        with self._lock:
            if name in self._apps:
                return
            app = App(name, AppSpec(SEEDED_IMAGE), self._tags.next(), self._now(), None)
            revision = self._new_revision(app)
            revision.status, revision.reason, revision.ever_ready = "ready", "ready", True
            self._apps[name] = app

    def exists(self, name: str) -> bool:
        with self._lock:
            return name in self._apps

    def logs(self, name: str) -> str:
        """stdout and stderr (interleaved as written) of every revision the app ran, oldest
        first; kept after the app is deleted, until shutdown."""
        with self._lock:
            paths = list(self._logs.get(name, []))
        if not paths:
            raise KeyError(name)
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def pid(self, name: str) -> int | None:
        """The process id of the app's running revision, or None."""
        with self._lock:
            app = self._apps.get(name)
            latest = None if app is None else app.latest
            return latest.proc.pid if latest and latest.proc and latest.running else None

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            revisions = list(self._started)
            threads = list(self._threads)
        for revision in revisions:
            revision.stopped = True
            if revision.proc is not None:
                _signal(revision.proc, signal.SIGKILL)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)

    # -- internals ----------------------------------------------------------------------------
    def _found(self, name: str) -> App:
        app = self._apps.get(name)
        if app is None:
            raise not_found("App", name)
        return app

    def _new_revision(self, app: App) -> Revision:
        revision = Revision(app.next_revision_name(), app.spec, self._now())
        app.revisions.append(revision)
        return revision

    def _background(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="ce-app")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _roll_out(self, app: App, new: Revision) -> None:
        """Stop every earlier revision (a quick second update may overtake the first), then
        start `new` on the app's port, unless something newer or a delete came in between."""
        for old in app.revisions[: app.revisions.index(new)]:
            self._stop(old)
        with self._lock:
            if self._apps.get(app.name) is app and app.latest is new and not new.stopped:
                self._start(app, new)

    def _start(self, app: App, revision: Revision) -> None:
        """Start the revision's process (lock held), or fail it at once."""
        spec, project = revision.spec, self._project()
        image = self._images.get(spec.image_reference)
        env, error = resolve_env(spec.run_env_variables, *self._lookups)
        denied = pull_failure(spec.image_reference, spec.image_secret, self._lookups[0])
        if denied is not None:  # the app exists but "cannot reach the ready status" (`pulls`)
            self._failed(app, revision, denied.reason)
            return
        if image is None:
            self._failed(app, revision, "image_pull_back_off")
            return
        if error is not None:
            self._failed(app, revision, "deploying_waiting_for_resources")
            return
        env = base_env({**image.env, **env, **injected(project, app, revision)})
        if spec.run_compute_resource_token_enabled:
            token = self._issue_token(app.name)
            env = with_token_file(env, self._tokens.write(f"app-{revision.name}", token))
        argv = process(image, spec.run_commands, spec.run_arguments)
        with self._log(app.name, revision.name).open("ab") as log:
            try:
                revision.proc = zygote.popen(
                    argv, cwd=image.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            except OSError as exc:  # the command is no executable: the container cannot start
                log.write(exec_error(argv[0], exc).encode())
                self._failed(app, revision, f"container_failed_exit_code_{START_ERROR}")
                return
        revision.started_at = self._now()
        self._started.append(revision)
        self._background(self._watch, app, revision)

    def _log(self, app: str, revision: str) -> Path:
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="localcloud-ce-apps-"))
        path = self._log_dir / f"{revision}.log"
        paths = self._logs.setdefault(app, [])
        if path not in paths:  # a revision serving again writes on in its own log
            paths.append(path)
        return path

    def _watch(self, app: App, revision: Revision) -> None:
        """Mark the revision `ready` when its port opens; `failed` when it exits or never
        opens; until it ends or is stopped."""
        proc, port = revision.proc, app.port
        assert proc is not None
        assert port is not None
        deadline = time.monotonic() + self.ready_seconds
        while not revision.ever_ready and proc.poll() is None and not self._stopping.is_set():
            if _accepts(port):
                with self._lock:
                    revision.status, revision.reason, revision.ever_ready = "ready", "ready", True
                    self._changed(app, revision)
                break
            if time.monotonic() > deadline:
                with self._lock:
                    self._failed(app, revision, "initial_scale_never_achieved")
                _signal(proc, signal.SIGKILL)
                break
            self._stopping.wait(POLL_SECONDS)
        code = proc.wait()
        with self._lock:
            revision.exit_code = code
            if not revision.stopped and revision.status != "failed":
                self._failed(app, revision, f"container_failed_exit_code_{_container_code(code)}")
            self._tokens.remove(f"app-{revision.name}")

    def _failed(self, app: App, revision: Revision, reason: str) -> None:
        revision.status, revision.reason = "failed", reason
        self._changed(app, revision)
        fallback = app.fallback
        if self._apps.get(app.name) is app and app.latest is revision and fallback is not None:
            self._background(self._fall_back, app, revision, fallback)

    def _fall_back(self, app: App, failed: Revision, fallback: Revision) -> None:
        """The original deployment serves again once the failed revision's process is gone."""
        if failed.proc is not None:
            failed.proc.wait()
        with self._lock:
            if self._apps.get(app.name) is app and app.latest is failed and not failed.stopped:
                fallback.stopped, fallback.exit_code = False, None
                self._start(app, fallback)

    def _changed(self, app: App, revision: Revision) -> None:
        """A status change of the app's latest revision gives the app a new entity tag."""
        if self._apps.get(app.name) is app and app.latest is revision:
            app.entity_tag = self._tags.next()

    def _stop(self, revision: Revision) -> None:
        proc = revision.proc
        if proc is None:
            return
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(self.stop_seconds)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            proc.wait()


def _container_code(code: int) -> int:
    """A process killed by signal n shows as a container's exit code 128 + n."""
    return 128 - code if code < 0 else code


def _signal(proc: Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _free_port() -> int:
    """A loopback port free right now (the app binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False
