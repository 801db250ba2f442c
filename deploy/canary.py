"""`doctor --canary`: one real rotation, followed hop by hop through the installed path.

Some behaviours cannot be settled from IBM's documentation (what a topic filter really lets
through, whether the destination authenticates, whether a run starts with the notification and the
profile may write). The canary settles them on the account itself:

1. a short-lived self-signed certificate `<name>-canary` (label `certsync-canary`) is imported into
   Secrets Manager once and reused;
2. for the duration of the check it is mapped (in the mappings config map) to the TLS secret
   `<name>-canary`, which nothing serves;
3. a new version of it is created, and the rotation is followed: `rotated` (Secrets Manager has the
   new version), `delivered` (the trigger acknowledged the notification, or with `delivery: job`
   Event Notifications started the run), `run_started` (a job run for the canary exists), `synced`
   (the canary TLS secret holds the new serial). Each hop's seconds count from the rotation.

Afterwards the canary's job runs are deleted and the config map gets its mappings back; the
certificate and the TLS secret stay for the next check. The whole canary is bounded by `timeout`.
Here: the follow loop; the set-up and clean-up are `canary_setup.py`, the report `canary_report.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from deploy.canary_report import CanaryReport, Watch, failed, report
from deploy.canary_setup import certificate, clean_up, map_canary, rotate, serial_of
from deploy.engine import Session
from deploy.status import job_runs
from shared.errors import CertsyncError, NotFoundError
from shared.retry import Waits, poll

POLL_SECONDS = 1.0


class Canary:
    def __init__(
        self,
        session: Session,
        progress: Callable[[str], None],
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = session
        self.config = session.config
        self.clients = session.clients
        self.progress = progress
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.name = self.config.canary_name
        self.webhook = self.config.delivery == "webhook"

    # -- the whole check -------------------------------------------------------------------
    def run(self) -> CanaryReport:
        deadline = self.clock() + self.timeout
        try:
            secret_id = certificate(self.session, self.progress)
        except CertsyncError as exc:
            return failed(f"the canary certificate '{self.name}' could not be made: {exc}")
        try:
            restore = map_canary(self.session, secret_id)
        except CertsyncError as exc:
            return failed(f"the canary could not be mapped to '{self.name}': {exc}")
        runs: list[str] = []  # the canary's job runs, deleted afterwards
        try:
            return self._rotate_and_follow(secret_id, deadline, runs)
        finally:
            clean_up(self.session, runs, restore, self.progress)

    def _rotate_and_follow(self, secret_id: str, deadline: float, runs: list[str]) -> CanaryReport:
        runs_before = {r["name"] for r in self._canary_runs(secret_id)}
        trigger_before = self._trigger_record()
        started = self.clock()
        try:
            serial = rotate(self.session, secret_id)
        except CertsyncError as exc:
            return failed(f"Secrets Manager refused a new version of '{self.name}': {exc}")
        watch = Watch(secret_id, serial, started, {"rotated": self.clock() - started})
        self.progress(f"canary: '{self.name}' rotated to serial {serial}; following it")

        def settled() -> Watch | None:
            self._observe(watch, runs_before, trigger_before)
            return watch if "synced" in watch.seen or _ended_unsynced(watch) else None

        poll(
            settled,
            timeout=max(deadline - self.clock(), 0.0),
            waits=Waits(POLL_SECONDS, POLL_SECONDS),
            sleep=self.sleep,
            clock=self.clock,
        )
        runs.extend(r["name"] for r in watch.runs)
        return report(watch, self.config, self.session.facts.project_name)

    # -- following the rotation ------------------------------------------------------------
    def _observe(
        self, watch: Watch, runs_before: set[str], trigger_before: dict[str, Any] | None
    ) -> None:
        if self.webhook and "delivered" not in watch.seen:
            self._check_trigger(watch, trigger_before)
        if "run_started" not in watch.seen:
            watch.runs = [
                r for r in self._canary_runs(watch.secret_id) if r["name"] not in runs_before
            ]
            if watch.runs:
                watch.seen["run_started"] = self.clock() - watch.started
                # A run for the canary proves the delivery, also when the trigger instance that
                # answered /deliveries was not the one that took the notification.
                watch.seen.setdefault("delivered", watch.seen["run_started"])
        else:
            watch.runs = [self._fresh(r) for r in watch.runs]
        if "run_started" in watch.seen and self._synced(watch.serial):
            watch.seen["synced"] = self.clock() - watch.started

    def _check_trigger(self, watch: Watch, before: dict[str, Any] | None) -> None:
        record = self._trigger_record()
        if record is None:
            return
        now = self.clock() - watch.started
        known = {d["notification_id"] for d in (before or {}).get("accepted", [])}
        for delivery in record.get("accepted", []):
            names_it = any(watch.secret_id in str(s) for s in delivery.get("secret_ids", []))
            if names_it and delivery.get("notification_id") not in known:
                watch.seen["delivered"] = now
                return
        then = (before or {}).get("refused", {})
        watch.refused = {
            outcome: count - int(then.get(outcome, 0))
            for outcome, count in (record.get("refused") or {}).items()
            if count > int(then.get(outcome, 0))
        }

    def _trigger_record(self) -> dict[str, Any] | None:
        if not self.webhook:
            return None
        url, token = self.session.app_url(), self.session.webhook_token()
        if url is None or token is None:
            return None
        try:
            response = requests.get(
                f"{url}/deliveries",
                headers={"Authorization": f"Bearer {token.reveal()}"},
                timeout=10,
            )
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        body = response.json()
        return body if isinstance(body, dict) else None

    def _canary_runs(self, secret_id: str) -> list[dict[str, Any]]:
        """The job's runs that carry a notification naming the canary (in `ibmendata`)."""
        runs = job_runs(self.clients, self.config, self.session.facts.project_id)
        return [r for r in runs if _names_secret(r, secret_id)]

    def _fresh(self, run: dict[str, Any]) -> dict[str, Any]:
        ce, project, name = self.clients.code_engine, self.session.facts.project_id, run["name"]
        try:
            return self.clients.call(
                lambda: ce.get_job_run(project_id=project, name=name), f"get job run '{name}'"
            )
        except NotFoundError:
            return run

    def _synced(self, serial: str) -> bool:
        ce, project = self.clients.code_engine, self.session.facts.project_id
        try:
            body = self.clients.call(
                lambda: ce.get_secret(project_id=project, name=self.name),
                f"get Code Engine secret '{self.name}'",
            )
        except NotFoundError:
            return False
        pem = str((body.get("data") or {}).get("tls_cert") or "")
        return bool(pem) and serial_of(pem) == serial


def _ended_unsynced(watch: Watch) -> bool:
    """Every canary job run ended, and the target does not hold the new serial."""
    statuses = [r.get("status") for r in watch.runs]
    return bool(statuses) and all(s in {"completed", "failed"} for s in statuses)


def _names_secret(run: dict[str, Any], secret_id: str) -> bool:
    for variable in run.get("run_env_variables") or []:
        if variable.get("name") == "ibmendata" and secret_id in str(variable.get("value") or ""):
            return True
    return False
