"""`plan`, `apply` and `destroy`: what they print (the plan as a diff, the progress, the summary)
and their exit status."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from deploy.arguments import EXIT_CHANGES, EXIT_FAILED, EXIT_OK, dump
from deploy.engine import DeployError, Plan, Session
from deploy.leftovers import Leftovers, by_hand
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


def run_plan(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    session.check_references()
    planned = session.plan()
    if args.json:
        dump(out, {"ok": not planned.conflicts, **planned.to_dict()})
    else:
        print(plan_text(planned, header), file=out)
    if planned.conflicts:
        return EXIT_FAILED
    return EXIT_CHANGES if args.detailed_exitcode and planned.writes else EXIT_OK


def run_apply(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    session.check_references()
    planned = session.plan()
    if not args.json:
        print(plan_text(planned, header), file=out, flush=True)
    if planned.conflicts:
        if args.json:
            dump(out, {"ok": False, **planned.to_dict()})
            return EXIT_FAILED
        raise DeployError("conflicts: nothing changed (see the plan)")
    if not planned.writes:
        if args.json:
            dump(out, {"ok": True, "applied": [], **planned.to_dict()})
        return EXIT_OK
    deleting = [c for c in planned.writes if c.action in {Action.DELETE, Action.REPLACE}]
    if deleting and not args.yes and sys.stdin.isatty():
        names = ", ".join(f"{c.kind.value} '{c.name}'" for c in deleting)
        if not confirm(f"This deletes {names}. Go ahead?"):
            session.progress("Nothing changed.")
            return EXIT_FAILED
    done = session.apply(planned, report=lambda c: session.progress(done_line(c)))
    if args.json:
        dump(out, {"ok": True, "applied": [c.to_dict() for c in done], **planned.to_dict()})
    else:
        print(f"\nApplied {len(done)} change(s).", file=out)
        if planned.manual:
            print("Still to do by hand:", file=out)
            for step in planned.manual:
                print(f"  - {step}", file=out)
    return EXIT_OK


def run_destroy(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    leftovers = Leftovers(session)
    own, made_by_runs = session.destroy_plan(), leftovers.changes()
    changes = [*own, *made_by_runs]
    manual = by_hand(session)
    if not args.json:
        print(destroy_text(changes, header), file=out, flush=True)
    deleting = [c for c in changes if c.writes]
    if deleting and not args.yes and not confirm(f"Delete these {len(deleting)} resources?"):
        session.progress("Nothing deleted.")
        return EXIT_FAILED

    def report(change: Change) -> None:
        session.progress(done_line(change))

    session.destroy(own, report=report)
    for change in made_by_runs:  # after the job: no run of it writes the status record again
        if change.writes:
            leftovers.delete(change)
            report(change)
    if args.json:
        dump(out, {"ok": True, "changes": [c.to_dict() for c in changes], "manual": manual})
    else:
        print(f"\nDeleted {len(deleting)} resource(s).", file=out)
        print("Left for you to remove by hand (destroy cannot, or must not):", file=out)
        for step in manual:
            print(f"  - {step}", file=out)
    return EXIT_OK


def confirm(question: str) -> bool:
    """Ask on the terminal (the question on stderr, so stdout stays the result)."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def plan_text(planned: Plan, header: str) -> str:
    lines = [header, ""]
    for change in [*planned.changes, *planned.prune]:
        symbol, action = SYMBOLS[change.action], change.action.value
        detail = f" ({change.detail})" if change.detail else ""
        lines.append(f"  {symbol:>3} {action:<8} {change.kind.value} '{change.name}'{detail}")
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
