"""`python -m deploy plan|apply|doctor|destroy --config certsync.yaml [--json]`.

Exit status: 0 done (doctor: no check failed); 1 something failed or conflicts (named on stderr,
or in the JSON); 2 the config or the environment is invalid, before any API call.
Results go to stdout (text, or one JSON document with `--json`); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from deploy import clients as client_factory
from deploy import render
from deploy.code_engine import BuildFailed
from deploy.config import load
from deploy.doctor import Doctor, failed
from deploy.engine import DeployError, Session, lookup_facts
from shared.errors import CertsyncError, ConfigError
from shared.settings import EXIT_CONFIG

EXIT_OK, EXIT_FAILED = 0, 1
VERBS = ("plan", "apply", "doctor", "destroy")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Install certsync on IBM Cloud from a config file, check it, or remove it.",
    )
    parser.add_argument(
        "verb",
        choices=VERBS,
        help="plan: preview; apply: make it so; "
        "doctor: check everything; destroy: remove what certsync created",
    )
    parser.add_argument("--config", default="certsync.yaml", help="default: certsync.yaml")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--yes", action="store_true", help="destroy without asking")
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    out, err = out or sys.stdout, err or sys.stderr

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
    except (CertsyncError, BuildFailed) as exc:
        print(f"deploy: {args.verb} failed: {exc}", file=err)
        if args.json:
            _dump(out, {"ok": False, "error": str(exc)})
        return EXIT_FAILED


def _plan(session: Session, args: argparse.Namespace, header: str, out: TextIO, _: Any) -> int:
    planned = session.plan()
    if args.json:
        _dump(out, {"ok": not planned.conflicts, **planned.to_dict()})
    else:
        print(render.plan_text(planned, header), file=out)
    return EXIT_FAILED if planned.conflicts else EXIT_OK


def _apply(
    session: Session, args: argparse.Namespace, header: str, out: TextIO, progress: Any
) -> int:
    planned = session.plan()
    if not args.json:
        print(render.plan_text(planned, header), file=out, flush=True)
    if planned.conflicts:
        if args.json:
            _dump(out, {"ok": False, **planned.to_dict()})
        raise DeployError("conflicts: nothing changed (see the plan)")
    if not planned.writes:
        if args.json:
            _dump(out, {"ok": True, "applied": [], **planned.to_dict()})
        return EXIT_OK
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
    checks = Doctor(session, progress).run()
    bad = failed(checks)
    if args.json:
        _dump(out, {"ok": not bad, "checks": [c.to_dict() for c in checks]})
    else:
        print(render.doctor_text(checks, header), file=out)
    return EXIT_FAILED if bad else EXIT_OK


def _destroy(
    session: Session, args: argparse.Namespace, header: str, out: TextIO, progress: Any
) -> int:
    changes = session.destroy_plan()
    if not args.json:
        print(render.destroy_text(changes, header), file=out, flush=True)
    deleting = [c for c in changes if c.writes]
    if deleting and sys.stdin.isatty() and not args.yes and not args.json:
        answer = input(f"Delete these {len(deleting)} resources? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing deleted.", file=out)
            return EXIT_FAILED
    session.destroy(changes, report=lambda c: progress(render.done_line(c)))
    if args.json:
        _dump(out, {"ok": True, "changes": [c.to_dict() for c in changes]})
    else:
        print(f"\nDeleted {len(deleting)} resource(s).", file=out)
    return EXIT_OK


VERB_RUNNERS = {"plan": _plan, "apply": _apply, "doctor": _doctor, "destroy": _destroy}


def _dump(out: TextIO, body: dict[str, Any]) -> None:
    print(json.dumps(body, indent=2, sort_keys=True), file=out)


if __name__ == "__main__":
    sys.exit(main())
