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
from dataclasses import dataclass, field
from typing import Any

import requests

from deploy import canary_cert
from deploy.engine import Session
from deploy.status import status_configmap
from job.code_engine import StatusStore
from shared.errors import CertsyncError, NotFoundError
from shared.sdk import call_pages

LABEL = "certsync-canary"
HOPS = ("rotated", "delivered", "run_started", "synced")
TIMEOUT = 300.0
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Hop:
    hop: str
    ok: bool
    seconds: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"hop": self.hop, "ok": self.ok, "seconds": self.seconds, "detail": self.detail}


@dataclass(frozen=True)
class CanaryReport:
    hops: tuple[Hop, ...]

    @property
    def ok(self) -> bool:
        return len(self.hops) == len(HOPS) and all(h.ok for h in self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "hops": [h.to_dict() for h in self.hops]}


@dataclass
class _Watch:
    """What the follow loop has seen since the rotation."""

    secret_id: str
    serial: str
    started: float
    seen: dict[str, float] = field(default_factory=dict)  # hop -> seconds
    runs: list[dict[str, Any]] = field(default_factory=list)  # the canary's job runs
    refused: dict[str, int] = field(default_factory=dict)  # trigger refusals since the rotation
    trigger_detail: str = ""


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
            return _failed(f"the canary certificate '{self.name}' could not be made: {exc}")
        try:
            restore = self._map(secret_id)
        except CertsyncError as exc:
            return _failed(f"the canary could not be mapped to '{self.name}': {exc}")
        try:
            return self._rotate_and_follow(secret_id, deadline)
        finally:
            self._clean_up(restore)

    def _rotate_and_follow(self, secret_id: str, deadline: float) -> CanaryReport:
        runs_before = {r["name"] for r in self._canary_runs(secret_id)}
        trigger_before = self._trigger_record()
        started = self.clock()
        try:
            serial = self._rotate(secret_id)
        except CertsyncError as exc:
            return _failed(f"Secrets Manager refused a new version of '{self.name}': {exc}")
        watch = _Watch(secret_id, serial, started, {"rotated": self.clock() - started})
        self.progress(f"canary: '{self.name}' rotated to serial {serial}; following it")
        while "synced" not in watch.seen and self.clock() < deadline:
            self._observe(watch, runs_before, trigger_before)
            if "synced" in watch.seen or self._run_ended_unsynced(watch):
                break
            self.sleep(min(POLL_SECONDS, max(deadline - self.clock(), 0)))
        self._seen_runs = [r["name"] for r in watch.runs]
        return CanaryReport(tuple(self._hops(watch)))

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
        self, watch: _Watch, runs_before: set[str], trigger_before: dict[str, Any] | None
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

    def _check_trigger(self, watch: _Watch, before: dict[str, Any] | None) -> None:
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
        from ibm_code_engine_sdk.code_engine_v2 import JobRunsPager

        runs = call_pages(
            JobRunsPager(
                client=self.clients.code_engine,
                project_id=self.session.facts.project_id,
                job_name=self.config.job_name,
                limit=100,
            ),
            what=f"list the job runs of '{self.config.job_name}'",
            policy=self.clients.policy,
        )
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
        return bool(pem) and canary_cert.serial(pem) == serial

    @staticmethod
    def _run_ended_unsynced(watch: _Watch) -> bool:
        statuses = [r.get("status") for r in watch.runs]
        return bool(statuses) and all(s in {"completed", "failed"} for s in statuses)

    # -- the report --------------------------------------------------------------------------
    def _hops(self, watch: _Watch) -> list[Hop]:
        seconds = watch.seen
        hops = [Hop("rotated", True, _round(seconds["rotated"]), f"serial {watch.serial}")]
        for hop in HOPS[1:]:
            if hop in seconds:
                hops.append(Hop(hop, True, _round(seconds[hop]), self._ok_detail(hop, watch)))
            else:
                hops.append(Hop(hop, False, None, self._fail_detail(hop, watch)))
        return hops

    def _ok_detail(self, hop: str, watch: _Watch) -> str:
        runs = ", ".join(r["name"] for r in watch.runs)
        if hop == "delivered":
            return (
                "the trigger acknowledged the notification"
                if self.webhook
                else "Event Notifications started the job"
            )
        if hop == "run_started":
            return f"job run {runs}"
        return f"'{self.name}' holds serial {watch.serial}"

    def _fail_detail(self, hop: str, watch: _Watch) -> str:
        c = self.config
        if hop == "delivered":
            return self._undelivered(watch)
        if hop == "run_started":
            if "delivered" not in watch.seen:
                return "not reached: the notification was not delivered"
            return (
                "the trigger acknowledged the notification but no job run for the canary "
                f"started: check `ibmcloud ce app logs --name {c.app_name}` and that trusted "
                f"profile '{c.profile_name}' has Writer on the project"
            )
        if "run_started" not in watch.seen:
            return "not reached: no job run for the canary"
        ended = "; ".join(f"{r['name']} {r.get('status') or 'unknown'}" for r in watch.runs)
        return (
            f"'{self.name}' does not hold serial {watch.serial} (job run {ended}): check "
            f"`ibmcloud ce jobrun logs --name {watch.runs[0]['name']}` and that trusted profile "
            f"'{c.profile_name}' may write secrets in project '{self.session.facts.project_name}'"
        )

    def _undelivered(self, watch: _Watch) -> str:
        c = self.config
        topic = f"{c.name}-rotations"
        if not self.webhook:
            return (
                "Event Notifications started no job run for the canary: check topic "
                f"'{topic}' (its filter must pass Secrets Manager's secret_rotated events), "
                f"its subscription to destination '{c.name}-job' and the service authorization "
                "Event Notifications -> Code Engine"
            )
        if watch.refused.get("unauthorized"):
            return (
                f"the trigger refused {watch.refused['unauthorized']} delivery(ies) with a "
                "missing or wrong bearer token: the destination's token is not the app's; "
                f"delete destination '{c.name}-trigger' and run python -m deploy apply "
                f"--config {c.path}"
            )
        if watch.refused.get("forbidden"):
            return (
                f"the trigger refused {watch.refused['forbidden']} notification(s) from a source "
                "not in CERTSYNC_ALLOWED_SOURCES: check that the app's allowed source is the "
                "Secrets Manager instance's CRN (python -m deploy apply puts it there)"
            )
        return (
            "no notification about the canary reached the trigger, and it refused none: "
            f"Secrets Manager's event did not pass topic '{topic}' (check its filters) or its "
            "registration with Event Notifications is missing; python -m deploy doctor checks "
            "the registration, the topic and the destination"
        )

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


def find_certificate(session: Session) -> str | None:
    """The canary certificate's id, or None when no canary has ever run."""
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

    name, clients = f"{session.config.name}-canary", session.clients
    listed = call_pages(
        SecretsPager(
            client=clients.secrets_manager, search=name, secret_types=["imported_cert"], limit=100
        ),
        what=f"list Secrets Manager certificates named '{name}'",
        policy=clients.policy,
    )
    for item in listed:
        if item.get("name") != name:
            continue
        if LABEL not in (item.get("labels") or []):
            raise CertsyncError(
                f"a certificate named '{name}' exists without the label '{LABEL}'; it is not "
                "certsync's canary and is left alone: rename it, or set another 'name' in "
                f"{session.config.path}"
            )
        return str(item["id"])
    return None


def _failed(detail: str) -> CanaryReport:
    hops = [Hop("rotated", False, None, detail)]
    hops += [Hop(h, False, None, "not reached: the canary did not rotate") for h in HOPS[1:]]
    return CanaryReport(tuple(hops))


def _names_secret(run: dict[str, Any], secret_id: str) -> bool:
    for variable in run.get("run_env_variables") or []:
        if variable.get("name") == "ibmendata" and secret_id in str(variable.get("value") or ""):
            return True
    return False


def _serial(value: Any) -> str:
    """Secrets Manager writes serials as colon-separated hex; compare them as bare hex."""
    text = str(value or "").replace(":", "").lower().lstrip("0")
    return text or "0"


def _round(seconds: float) -> float:
    return round(seconds, 2)
