"""`doctor`: check every piece and every permission end to end; each failure names its fix.

Checks, in order: each resource exists as the config wants it (the plan, read-only); the trigger
answers `/healthz` at its public URL; Event Notifications' test delivery reaches the destination;
a dry-run job run (`python -m job --dry-run`) proves the trusted profile reads every mapped secret
and its target; each mapped certificate's days left; the safety net, which no API can read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import shlex
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import requests

from deploy.arguments import EXIT_FAILED, EXIT_OK, dump
from deploy.canary import Canary
from deploy.canary_report import canary_text
from deploy.checks import Check, Status, canary_hint, certificate_checks
from deploy.clients import Wait, wait_for_status
from deploy.engine import Session
from deploy.model import Action, Change, Kind
from shared.errors import CertsyncError, NotFoundError
from shared.run_names import DOCTOR, run_name

TEST_TIMEOUT = 60.0
PROBE_TIMEOUT = 900.0


MARK = {Status.OK: "[ ok ]", Status.WARN: "[warn]", Status.FAIL: "[FAIL]", Status.MANUAL: "[ -- ]"}


def run_doctor(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    checks = Doctor(session, session.progress, canary_planned=args.canary).run()
    canary = None
    if args.canary:
        session.progress("canary: rotating a canary certificate and following it (--canary)")
        canary = Canary(session, session.progress, timeout=args.canary_timeout).run()
    ok = all(c.status is not Status.FAIL for c in checks) and (canary is None or canary.ok)
    if args.json:
        body: dict[str, Any] = {"ok": ok, "checks": [c.to_dict() for c in checks]}
        if canary is not None:
            body["canary"] = canary.to_dict()
        dump(out, body)
    else:
        print(doctor_text(checks, header), file=out)
        if canary is not None:
            print(canary_text(canary), file=out)
    return EXIT_OK if ok else EXIT_FAILED


def doctor_text(checks: Sequence[Check], header: str) -> str:
    lines = [header, ""]
    for check in checks:
        lines.append(f"  {MARK[check.status]} {check.what}")
        if check.detail:
            lines.append(f"         {check.detail}")
        if check.fix and check.status is not Status.OK:
            for n, fix_line in enumerate(check.fix.splitlines()):
                lines.append(f"         {'fix: ' if n == 0 else '     '}{fix_line.strip()}")
    failures = sum(1 for c in checks if c.status is Status.FAIL)
    warnings = sum(1 for c in checks if c.status is Status.WARN)
    lines.append("")
    if failures:
        lines.append(f"{failures} of {len(checks)} checks failed.")
    else:
        lines.append(f"All checks passed ({warnings} warning(s)).")
    return "\n".join(lines)


class Doctor:
    def __init__(
        self,
        session: Session,
        progress: Callable[[str], None],
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        sleep: Callable[[float], None] = time.sleep,
        canary_planned: bool = False,
    ) -> None:
        self.session = session
        self.canary_planned = canary_planned
        self.config = session.config
        self.progress = progress
        self.now = now
        self.sleep = sleep
        self.apply_hint = f"python -m deploy apply --config {self.config.path}"

    def run(self) -> list[Check]:
        planned = self.session.plan()
        checks = [self._resource(c) for c in planned.changes]
        if self.config.image_secret is not None:
            checks.append(self._registry_secret(self.config.image_secret))
        if self.config.delivery == "webhook":
            checks.append(self._health())
        checks.append(self._test_delivery())
        checks.append(self._probe())
        checks += certificate_checks(self.session, self.now(), self.progress)
        if not self.canary_planned:
            checks += canary_hint(self.session)
        for step in planned.manual:
            title, _, rest = step.partition("\n")
            checks.append(Check(Status.MANUAL, f"by hand: {title}", fix=rest.strip()))
        return checks

    # -- resources -------------------------------------------------------------------------
    def _resource(self, change: Change) -> Check:
        what = f"{change.kind.value} '{change.name}'"
        if change.detail:
            what += f" ({change.detail})"
        if change.action is Action.KEEP:
            return Check(Status.OK, what, "; ".join(change.reasons))  # adopted: says so
        if change.action is Action.CONFLICT:
            return Check(
                Status.FAIL,
                what,
                "; ".join(change.reasons),
                f"rename it, or set a different 'name' in {self.config.path}",
            )
        detail = "missing" if change.action is Action.CREATE else "; ".join(change.reasons)
        fix = self.apply_hint
        manual = _manual_fix(change)
        if manual:
            fix += f", or: {manual}"
        return Check(Status.FAIL, what, detail, fix)

    def _registry_secret(self, name: str) -> Check:
        """The job and app pull with registry secret `name`: without it (or with another kind of
        secret) every run fails to pull (SDK `create_job` `image_secret`)."""
        image = self.config.job_image
        host = image.split("/", 1)[0]
        what = f"registry secret '{name}' (pulls {image})"
        fix = (
            f"ibmcloud ce registry create --name {name} --server {host} --username iamapikey "
            "--password-from-file <file with an API key that may read the images>"
        )
        ce, project = self.session.clients.code_engine, self.session.facts.project_id
        try:
            body = self.session.clients.call(
                lambda: ce.get_secret(project_id=project, name=name),
                f"get Code Engine secret '{name}'",
            )
        except NotFoundError:
            return Check(Status.FAIL, what, "missing: job runs and the app cannot pull", fix)
        except CertsyncError as exc:
            return Check(Status.FAIL, what, str(exc), fix)
        if body.get("format") != "registry":
            detail = f"has format '{body.get('format')}', not 'registry'"
            return Check(Status.FAIL, what, detail, f"delete it, then {fix}")
        server = str((body.get("data") or {}).get("server") or "")
        if server.rsplit("://", maxsplit=1)[-1].strip("/") != host:
            detail = f"holds credentials for '{server}', not '{host}'"
            return Check(
                Status.FAIL,
                what,
                detail,
                f"ibmcloud ce registry update --name {name} --server {host}",
            )
        return Check(Status.OK, what, f"a registry secret for {host}")

    # -- the trigger -----------------------------------------------------------------------
    def _health(self) -> Check:
        url = self.session.app_url()
        what = f"the trigger answers /healthz ({self.config.app_name})"
        if url is None:
            return Check(Status.FAIL, what, "the app is missing or not ready", self.apply_hint)
        try:
            response = requests.get(f"{url}/healthz", timeout=10)
        except requests.RequestException as exc:
            return Check(
                Status.FAIL,
                what,
                f"{url}/healthz: {type(exc).__name__}",
                f"ibmcloud ce app logs --name {self.config.app_name}",
            )
        if response.status_code != 200:
            return Check(
                Status.FAIL,
                what,
                f"{url}/healthz answered {response.status_code}",
                f"ibmcloud ce app logs --name {self.config.app_name}",
            )
        return Check(Status.OK, what, f"{url}/healthz answered 200")

    def _test_delivery(self) -> Check:
        webhook = self.config.delivery == "webhook"
        name = f"{self.config.name}-trigger" if webhook else f"{self.config.name}-job"
        what = f"Event Notifications test delivery to '{name}'"
        if not webhook:
            return Check(
                Status.MANUAL,
                what,
                "a test to a Code Engine job destination starts a job run; not sent",
                "the dry-run job run below checks the job itself",
            )
        ident = self.session.learnt(Kind.DESTINATION, name, "id")
        if ident is None:
            return Check(Status.FAIL, what, "the destination is missing", self.apply_hint)
        en, instance = self.session.clients.event_notifications, self.config.en_instance
        try:
            body = self.session.clients.call(
                lambda: en.test_destination(instance_id=instance, id=ident),
                f"test Event Notifications destination '{name}'",
            )
            notification = str(body.get("notification_id") or "")
            # A webhook's test is asynchronous: its status is read until it is final.
            if notification and body.get("status") not in {"success", "failure"}:
                body, _ = wait_for_status(
                    lambda: self.session.clients.call(
                        lambda: en.get_notifications_status(instance_id=instance, id=notification),
                        "get the test notification's status",
                    ),
                    Wait("the test notification", frozenset({"success", "failure"}), TEST_TIMEOUT),
                    progress=lambda _: None,
                    sleep=self.sleep,
                )
        except CertsyncError as exc:
            return Check(Status.FAIL, what, str(exc), self.apply_hint)
        status = str(body.get("status") or "unknown")
        if status == "success":
            return Check(Status.OK, what, "delivered and acknowledged")
        details = body.get("details") or {}
        answer = f" (HTTP {details['status_code']})" if details.get("status_code") else ""
        return Check(
            Status.FAIL,
            what,
            f"test notification status '{status}'{answer}",
            f"ibmcloud ce app logs --name {self.config.app_name}; a 401 means the "
            "destination's token is not the app's (Event Notifications never shows it): delete "
            f"destination '{name}' and run {self.apply_hint}, which creates it with the app's",
        )

    # -- the trusted profile, through a dry run -------------------------------------------------
    def _probe(self) -> Check:
        ce, project = self.session.clients.code_engine, self.session.facts.project_id
        job = self.config.job_name
        name = run_name(job, DOCTOR, secrets.token_hex(8))  # a new run each time
        what = "the trusted profile reads every mapped secret and target (dry-run job run)"
        fix = (
            f"ibmcloud ce jobrun logs --name {name}; check the policies of trusted profile "
            f"'{self.config.profile_name}' ({self.apply_hint})"
        )
        try:
            self.session.clients.call(
                lambda: ce.create_job_run(
                    project_id=project, job_name=job, name=name, run_arguments=["--dry-run"]
                ),
                f"submit dry-run job run '{name}'",
            )
            self.progress(f"dry-run job run '{name}' submitted")
            body, _ = wait_for_status(
                lambda: self.session.clients.call(
                    lambda: ce.get_job_run(project_id=project, name=name), f"get job run '{name}'"
                ),
                Wait(f"job run '{name}'", frozenset({"completed", "failed"}), PROBE_TIMEOUT),
                progress=self.progress,
                sleep=self.sleep,
            )
        except CertsyncError as exc:
            return Check(Status.FAIL, what, str(exc), self.apply_hint)
        status = body.get("status")
        if status == "completed":
            return Check(Status.OK, what, f"job run '{name}' completed")
        return Check(Status.FAIL, what, f"job run '{name}' ended '{status}'", fix)


def _manual_fix(change: Change) -> str:
    """The CLI command that makes one missing piece by hand, where it is short."""
    wanted = change.wanted
    if wanted is None or change.kind is not Kind.AUTHORIZATION:
        return ""
    spec = wanted.spec
    roles = shlex.quote(",".join(spec["roles"]))
    return (
        f"ibmcloud iam authorization-policy-create {spec['source_service']} "
        f"{spec['target_service']} {roles} --source-service-instance-id "
        f"{spec['source_instance']} --target-service-instance-id {spec['target_instance']}"
    )
