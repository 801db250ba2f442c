"""`python -m deploy <verb> --config certsync.yaml [--json]`: plan, apply, doctor, status, destroy,
inventory, adopt.

Exit status: 0 done (doctor: no check failed); 1 something failed or conflicts (named on stderr,
or in the JSON); 2 the config or the environment is invalid, before any API call.
Results go to stdout (text, or one JSON document with `--json`); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from deploy import clients as client_factory
from deploy import render
from deploy.arguments import EXIT_CHANGES, EXIT_FAILED, EXIT_OK, parse_args
from deploy.canary import Canary
from deploy.ce_waits import BuildFailed
from deploy.checks import failed
from deploy.config import load
from deploy.doctor import Doctor
from deploy.engine import DeployError, Session, lookup_facts
from deploy.inventory_cli import RUNNERS as INVENTORY_RUNNERS
from deploy.leftovers import Leftovers, by_hand
from deploy.model import Action, Change
from deploy.references import ReferenceProblems
from deploy.status import read_status, status_text
from shared.errors import CertsyncError, ConfigError
from shared.logging import configure_logging
from shared.settings import EXIT_CONFIG


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    out, err = out or sys.stdout, err or sys.stderr
    args.environ = environ  # inventory and adopt read the job's settings from it
    configure_logging(err)  # retries and warnings: stdout holds only the result
    refused = refuse_unattended(args, sys.stdin)
    if refused:
        print(f"deploy: {refused}", file=err)
        if args.json:
            _dump(out, {"ok": False, "problems": [refused]})
        return EXIT_CONFIG

    def progress(text: str) -> None:
        print(text, file=err, flush=True)

    problems: list[str] = []  # every problem at once: the config's and the environment's
    config = apikey = None
    try:
        config = load(args.config)
    except ConfigError as exc:
        problems += exc.problems
    try:
        apikey = client_factory.read_apikey(environ)
    except ConfigError as exc:
        problems += exc.problems
    if config is None or apikey is None:
        for problem in problems:
            print(f"deploy: {problem}", file=err)
        if args.json:
            _dump(out, {"ok": False, "problems": problems})
        return EXIT_CONFIG
    try:
        looked_up = client_factory.account(config, apikey)
        facts = lookup_facts(looked_up, config)
        clients = client_factory.build(config, looked_up, facts)
        session = Session(config, clients, facts, progress)
        header = (
            f"certsync {args.verb}: project '{facts.project_name}' ({config.region}), "
            f"config {config.path}"
        )
        return VERB_RUNNERS[args.verb](session, args, header, out, progress)
    except ReferenceProblems as exc:  # what certsync.yaml points at: one line each
        for problem in exc.problems:
            print(f"deploy: {problem}", file=err)
        print(f"deploy: {args.verb}: nothing was changed", file=err)
        if args.json:
            _dump(out, {"ok": False, "problems": exc.problems})
        return EXIT_FAILED
    except (CertsyncError, BuildFailed) as exc:
        print(f"deploy: {args.verb} failed: {exc}", file=err)
        if args.json:
            _dump(out, {"ok": False, "error": str(exc)})
        return EXIT_FAILED


def _plan(session: Session, args: argparse.Namespace, header: str, out: TextIO, _: Any) -> int:
    session.check_references()
    planned = session.plan()
    if args.json:
        _dump(out, {"ok": not planned.conflicts, **planned.to_dict()})
    else:
        print(render.plan_text(planned, header), file=out)
    if planned.conflicts:
        return EXIT_FAILED
    return EXIT_CHANGES if args.detailed_exitcode and planned.writes else EXIT_OK


def _apply(
    session: Session, args: argparse.Namespace, header: str, out: TextIO, progress: Any
) -> int:
    session.check_references()
    planned = session.plan()
    if not args.json:
        print(render.plan_text(planned, header), file=out, flush=True)
    if planned.conflicts:
        if args.json:
            _dump(out, {"ok": False, **planned.to_dict()})
            return EXIT_FAILED
        raise DeployError("conflicts: nothing changed (see the plan)")
    if not planned.writes:
        if args.json:
            _dump(out, {"ok": True, "applied": [], **planned.to_dict()})
        return EXIT_OK
    deleting = [c for c in planned.writes if c.action in {Action.DELETE, Action.REPLACE}]
    if deleting and not args.yes and sys.stdin.isatty():
        names = ", ".join(f"{c.kind.value} '{c.name}'" for c in deleting)
        if not confirm(f"This deletes {names}. Go ahead?"):
            progress("Nothing changed.")
            return EXIT_FAILED
    done = session.apply(planned, report=lambda c: progress(render.done_line(c)))
    if args.json:
        _dump(out, {"ok": True, "applied": [c.to_dict() for c in done], **planned.to_dict()})
    else:
        print(f"\nApplied {len(done)} change(s).", file=out)
        if planned.manual:
            print("Still to do by hand:", file=out)
            for step in planned.manual:
                print(f"  - {step}", file=out)
    return EXIT_OK


def _doctor(
    session: Session, args: argparse.Namespace, header: str, out: TextIO, progress: Any
) -> int:
    checks = Doctor(session, progress, canary_planned=args.canary).run()
    bad = failed(checks)
    canary = None
    if args.canary:
        progress("canary: rotating a canary certificate and following it (--canary)")
        canary = Canary(session, progress, timeout=args.canary_timeout).run()
    ok = not bad and (canary is None or canary.ok)
    if args.json:
        body: dict[str, Any] = {"ok": ok, "checks": [c.to_dict() for c in checks]}
        if canary is not None:
            body["canary"] = canary.to_dict()
        _dump(out, body)
    else:
        print(render.doctor_text(checks, header), file=out)
        if canary is not None:
            print(render.canary_text(canary), file=out)
    return EXIT_OK if ok else EXIT_FAILED


def _destroy(
    session: Session, args: argparse.Namespace, header: str, out: TextIO, progress: Any
) -> int:
    leftovers = Leftovers(session)
    own, made_by_runs = session.destroy_plan(), leftovers.changes()
    changes = [*own, *made_by_runs]
    manual = by_hand(session)
    if not args.json:
        print(render.destroy_text(changes, header), file=out, flush=True)
    deleting = [c for c in changes if c.writes]
    if deleting and not args.yes and not confirm(f"Delete these {len(deleting)} resources?"):
        progress("Nothing deleted.")
        return EXIT_FAILED

    def report(change: Change) -> None:
        progress(render.done_line(change))

    session.destroy(own, report=report)
    for change in made_by_runs:  # after the job: no run of it writes the status record again
        if change.writes:
            leftovers.delete(change)
            report(change)
    if args.json:
        _dump(out, {"ok": True, "changes": [c.to_dict() for c in changes], "manual": manual})
    else:
        print(f"\nDeleted {len(deleting)} resource(s).", file=out)
        print("Left for you to remove by hand (destroy cannot, or must not):", file=out)
        for step in manual:
            print(f"  - {step}", file=out)
    return EXIT_OK


def _status(session: Session, args: argparse.Namespace, header: str, out: TextIO, _: Any) -> int:
    status = read_status(session.clients, session.config, session.facts.project_id)
    if args.json:
        _dump(out, status.to_dict())
    else:
        print(status_text(status, header, dt.datetime.now(dt.UTC)), file=out)
    return EXIT_OK


VERB_RUNNERS = {
    "plan": _plan,
    "apply": _apply,
    "doctor": _doctor,
    "status": _status,
    "destroy": _destroy,
}
VERB_RUNNERS.update(INVENTORY_RUNNERS)


def confirm(question: str) -> bool:
    """Ask on the terminal (the question on stderr, so stdout stays the result)."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def refuse_unattended(args: argparse.Namespace, stdin: TextIO) -> str | None:
    """`destroy` deletes only with a yes: from a terminal, or `--yes` where there is none."""
    if args.verb == "destroy" and not args.yes and not stdin.isatty():
        return (
            "destroy: there is no terminal to ask on and --yes was not given: nothing was "
            "read or deleted (run it again with --yes to delete)"
        )
    return None


def _dump(out: TextIO, body: dict[str, Any]) -> None:
    print(json.dumps(body, indent=2, sort_keys=True), file=out)


if __name__ == "__main__":
    sys.exit(main())
