"""What `doctor --canary` saw, hop by hop, and what each hop's line says: pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from deploy.config import Config

HOPS = ("rotated", "delivered", "run_started", "synced")


@dataclass(frozen=True)
class Hop:
    hop: str
    ok: bool
    seconds: float | None
    detail: str


@dataclass(frozen=True)
class CanaryReport:
    hops: tuple[Hop, ...]

    @property
    def ok(self) -> bool:
        return len(self.hops) == len(HOPS) and all(h.ok for h in self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "hops": [asdict(h) for h in self.hops]}


@dataclass
class Watch:
    """What the follow loop has seen since the rotation."""

    secret_id: str
    serial: str
    started: float
    seen: dict[str, float] = field(default_factory=dict)  # hop -> seconds
    runs: list[dict[str, Any]] = field(default_factory=list)  # the canary's job runs
    refused: dict[str, int] = field(default_factory=dict)  # trigger refusals since the rotation


def failed(detail: str) -> CanaryReport:
    """The canary did not rotate: `detail` says why; no later hop was reached."""
    hops = [Hop("rotated", False, None, detail)]
    hops += [Hop(h, False, None, "not reached: the canary did not rotate") for h in HOPS[1:]]
    return CanaryReport(tuple(hops))


def report(watch: Watch, config: Config, project_name: str) -> CanaryReport:
    """Each hop with its seconds since the rotation, or why it was not reached."""
    texts = _Texts(config, project_name)
    seconds = watch.seen
    hops = [Hop("rotated", True, _round(seconds["rotated"]), f"serial {watch.serial}")]
    for hop in HOPS[1:]:
        if hop in seconds:
            hops.append(Hop(hop, True, _round(seconds[hop]), texts.ok(hop, watch)))
        else:
            hops.append(Hop(hop, False, None, texts.failed(hop, watch)))
    return CanaryReport(tuple(hops))


@dataclass(frozen=True)
class _Texts:
    config: Config
    project_name: str

    @property
    def webhook(self) -> bool:
        return self.config.delivery == "webhook"

    def ok(self, hop: str, watch: Watch) -> str:
        if hop == "delivered":
            return (
                "the trigger acknowledged the notification"
                if self.webhook
                else "Event Notifications started the job"
            )
        if hop == "run_started":
            return f"job run {', '.join(r['name'] for r in watch.runs)}"
        return f"'{self.config.canary_name}' holds serial {watch.serial}"

    def failed(self, hop: str, watch: Watch) -> str:
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
            f"'{c.canary_name}' does not hold serial {watch.serial} (job run {ended}): check "
            f"`ibmcloud ce jobrun logs --name {watch.runs[0]['name']}` and that trusted profile "
            f"'{c.profile_name}' may write secrets in project '{self.project_name}'"
        )

    def _undelivered(self, watch: Watch) -> str:
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


def _round(seconds: float) -> float:
    return round(seconds, 2)


def canary_text(report: CanaryReport) -> str:
    """One line per hop: its name, ok or FAIL, and seconds since the rotation; then the detail."""
    lines = ["", "Canary rotation (seconds since the new version):"]
    for hop in report.hops:
        seconds = f"{hop.seconds:6.2f} s" if hop.seconds is not None else "     - s"
        lines.append(f"  {hop.hop:<12} {'ok' if hop.ok else 'FAIL':<4} {seconds}  {hop.detail}")
    failing = next((h.hop for h in report.hops if not h.ok), None)
    lines.append("")
    passed = "Canary passed: every hop happened."
    lines.append(passed if failing is None else f"Canary failed at '{failing}'.")
    return "\n".join(lines)
