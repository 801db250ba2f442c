"""What people read: the plan as a diff, the apply and destroy progress, the doctor's checklist."""

from __future__ import annotations

from collections.abc import Sequence

from deploy.canary_report import CanaryReport
from deploy.checks import Check, Status
from deploy.engine import Plan
from deploy.model import Action, Change

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.KEEP: "=",
    Action.CONFLICT: "!",
    Action.DELETE: "-",
    Action.LEAVE: "=",
}
PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.REPLACE: "replaced",
    Action.DELETE: "deleted",
}


def change_line(change: Change) -> str:
    symbol, action = SYMBOLS[change.action], change.action.value
    line = f"  {symbol:>3} {action:<8} {change.kind.value} '{change.name}'"
    if change.detail:
        line += f" ({change.detail})"
    return line


def plan_text(planned: Plan, header: str) -> str:
    lines = [header, ""]
    for change in [*planned.changes, *planned.prune]:
        lines.append(change_line(change))
        if change.action is not Action.KEEP and change.reasons != ("does not exist",):
            lines += [f"          {reason}" for reason in change.reasons]
    if planned.manual:
        lines += ["", "By hand (no IBM API can do it):"]
        lines += [f"  - {step}" for step in planned.manual]
    lines += ["", summary(planned)]
    return "\n".join(lines)


def summary(planned: Plan) -> str:
    changes = [*planned.changes, *planned.prune]
    count = {a: sum(1 for c in changes if c.action is a) for a in Action}
    if planned.conflicts:
        return (
            f"{len(planned.conflicts)} conflict(s): apply will change nothing until they are "
            "resolved."
        )
    if not planned.writes:
        return "No changes: the account already matches the config."
    return (
        f"Plan: {count[Action.CREATE]} to create, {count[Action.UPDATE] + count[Action.REPLACE]} "
        f"to change, {count[Action.DELETE]} to delete, {count[Action.KEEP]} unchanged."
    )


def done_line(change: Change) -> str:
    return f"  {PAST.get(change.action, change.action.value)} {change.kind.value} '{change.name}'"


def destroy_text(changes: Sequence[Change], header: str) -> str:
    lines = [header, ""]
    for change in changes:
        verb = "delete" if change.action is Action.DELETE else "leave "
        reason = f" ({'; '.join(change.reasons)})" if change.reasons else ""
        lines.append(f"  {verb} {change.kind.value} '{change.name}'{reason}")
    if not changes:
        lines.append("  nothing certsync created was found")
    return "\n".join(lines)


MARK = {Status.OK: "[ ok ]", Status.WARN: "[warn]", Status.FAIL: "[FAIL]", Status.MANUAL: "[ -- ]"}


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
