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
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from deploy import canary_cert
from deploy.canary_lookup import LABEL, canary_runs, find_certificate, trigger_record
from deploy.canary_report import CanaryReport, Watch, Where, hops, not_rotated
from deploy.engine import Session
from deploy.status import status_configmap
from job.code_engine import StatusStore
from shared.errors import CertsyncError, NotFoundError

TIMEOUT = 300.0
POLL_SECONDS = 1.0


class Canary:
    def __init__(
        self,
        session: Session,
        progress: Callable[[str], None],
        *,
        timeout: float = TIMEOUT,
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
        self.name = f"{self.config.name}-canary"  # the certificate and the TLS secret
        self.webhook = self.config.delivery == "webhook"
        self._seen_runs: list[str] = []  # the canary's job runs, deleted afterwards

    # -- the whole check -------------------------------------------------------------------
    def run(self) -> CanaryReport:
        deadline = self.clock() + self.timeout
        try:
            secret_id = self._certificate()
        except CertsyncError as exc:
            return not_rotated(f"the canary certificate '{self.name}' could not be made: {exc}")
        try:
            restore = self._map(secret_id)
        except CertsyncError as exc:
            return not_rotated(f"the canary could not be mapped to '{self.name}': {exc}")
        try:
            return self._rotate_and_follow(secret_id, deadline)
        finally:
            self._clean_up(restore)

    def _rotate_and_follow(self, secret_id: str, deadline: float) -> CanaryReport:
        runs_before = {r["name"] for r in canary_runs(self.session, secret_id)}
        trigger_before = trigger_record(self.session)
        started = self.clock()
        try:
            serial = self._rotate(secret_id)
        except CertsyncError as exc:
            return not_rotated(f"Secrets Manager refused a new version of '{self.name}': {exc}")
        watch = Watch(secret_id, serial, started, {"rotated": self.clock() - started})
        self.progress(f"canary: '{self.name}' rotated to serial {serial}; following it")
        while "synced" not in watch.seen and self.clock() < deadline:
            self._observe(watch, runs_before, trigger_before)
            if "synced" in watch.seen or self._run_ended_unsynced(watch):
                break
            self.sleep(min(POLL_SECONDS, max(deadline - self.clock(), 0)))
        self._seen_runs = [r["name"] for r in watch.runs]
        return CanaryReport(hops(watch, Where(self.config, self.session.facts.project_name)))

    # -- the certificate and its mapping ---------------------------------------------------
    def _certificate(self) -> str:
        found = find_certificate(self.session)
        if found is not None:
            return found
        sm = self.clients.secrets_manager
        cert_pem, key_pem = canary_cert.make(self.name)
        prototype = {
            "secret_type": "imported_cert",
            "name": self.name,
            "description": "certsync canary: rotated by `python -m deploy doctor --canary`",
            "labels": [LABEL],
            "certificate": cert_pem,
            "private_key": key_pem,
        }
        created = self.clients.call(
            lambda: sm.create_secret(secret_prototype=prototype),
            f"import the canary certificate '{self.name}' into Secrets Manager",
        )
        self.progress(f"canary: certificate '{self.name}' imported (label '{LABEL}')")
        return str(created["id"])

    def _map(self, secret_id: str) -> dict[str, str]:
        """Add the canary's mapping to the mappings config map; returns the data to restore."""
        ce, project = self.clients.code_engine, self.session.facts.project_id
        name = self.config.config_map_name
        body = self.clients.call(
            lambda: ce.get_config_map(project_id=project, name=name),
            f"get Code Engine config map '{name}'",
        )
        data = dict(body.get("data") or {})
        mappings = json.loads(data.get("CERTSYNC_MAPPINGS") or "[]")
        canary = {"secret": secret_id, "target": self.name, "verify": False}
        changed = {
            **data,
            "CERTSYNC_MAPPINGS": json.dumps(
                [m for m in mappings if m.get("target") != self.name] + [canary],
                separators=(",", ":"),
                sort_keys=True,
            ),
        }
        self.clients.call(
            lambda: ce.replace_config_map(
                project_id=project, name=name, if_match=str(body["entity_tag"]), data=changed
            ),
            f"map the canary in Code Engine config map '{name}'",
        )
        return data

    def _rotate(self, secret_id: str) -> str:
        sm = self.clients.secrets_manager
        cert_pem, key_pem = canary_cert.make(self.name)
        self.clients.call(
            lambda: sm.create_secret_version(
                secret_id=secret_id,
                secret_version_prototype={"certificate": cert_pem, "private_key": key_pem},
            ),
            f"create a new version of the canary certificate '{self.name}'",
        )
        serial = canary_cert.serial(cert_pem)
        meta = self.clients.call(
            lambda: sm.get_secret_metadata(id=secret_id),
            f"get the canary certificate '{self.name}'",
        )
        if _serial(meta.get("serial_number")) != serial:
            raise CertsyncError(
                f"its current version has serial {meta.get('serial_number')}, not {serial}"
            )
        return serial

    # -- following the rotation ------------------------------------------------------------
    def _observe(
        self, watch: Watch, runs_before: set[str], trigger_before: dict[str, Any] | None
    ) -> None:
        if self.webhook and "delivered" not in watch.seen:
            self._check_trigger(watch, trigger_before)
        if "run_started" not in watch.seen:
            watch.runs = [
                r
                for r in canary_runs(self.session, watch.secret_id)
                if r["name"] not in runs_before
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
        record = trigger_record(self.session)
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
        return bool(pem) and canary_cert.serial(pem) == serial

    @staticmethod
    def _run_ended_unsynced(watch: Watch) -> bool:
        statuses = [r.get("status") for r in watch.runs]
        return bool(statuses) and all(s in {"completed", "failed"} for s in statuses)

    # -- afterwards ----------------------------------------------------------------------------
    def _clean_up(self, restore: dict[str, str]) -> None:
        ce, project = self.clients.code_engine, self.session.facts.project_id
        for name in self._seen_runs:
            try:
                self.clients.call(
                    lambda n=name: ce.delete_job_run(project_id=project, name=n),
                    f"delete the canary's job run '{name}'",
                )
            except CertsyncError as exc:
                self.progress(f"canary: job run '{name}' left in place ({exc})")
        self._forget_target()
        name = self.config.config_map_name
        try:
            body = self.clients.call(
                lambda: ce.get_config_map(project_id=project, name=name),
                f"get Code Engine config map '{name}'",
            )
            self.clients.call(
                lambda: ce.replace_config_map(
                    project_id=project, name=name, if_match=str(body["entity_tag"]), data=restore
                ),
                f"unmap the canary in Code Engine config map '{name}'",
            )
        except CertsyncError as exc:
            self.progress(
                f"canary: config map '{name}' still maps the canary ({exc}); "
                f"python -m deploy apply --config {self.config.path} puts it back"
            )

    def _forget_target(self) -> None:
        """The canary's run recorded its target in the job's status record: take it out again,
        so `job status` and `deploy status` show only the user's targets."""
        store = StatusStore(
            self.clients.code_engine,
            self.session.facts.project_id,
            status_configmap(self.config),
            policy=self.clients.policy,
        )
        try:
            record, tag = store.read()
            if tag is not None and self.name in record:
                store.update(
                    lambda r: {k: v for k, v in r.items() if k != self.name}, first=(record, tag)
                )
        except CertsyncError as exc:
            self.progress(f"canary: its entry stays in the status record ({exc})")


def _serial(value: Any) -> str:
    """Secrets Manager writes serials as colon-separated hex; compare them as bare hex."""
    text = str(value or "").replace(":", "").lower().lstrip("0")
    return text or "0"
