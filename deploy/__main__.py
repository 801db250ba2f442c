"""`python -m deploy <verb> --config certsync.yaml [--json]`: plan, apply, doctor, status, destroy,
inventory, adopt.

Exit status: 0 done (doctor: no check failed); 1 something failed or conflicts (named on stderr,
or in the JSON); 2 the config or the environment is invalid, before any API call.
Results go to stdout (text, or one JSON document with `--json`); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from deploy.arguments import EXIT_FAILED, dump, parse_args

# Each verb's runner, imported when the verb runs: `--help` loads no SDK.
RUNNERS = {
    "plan": "deploy.render:run_plan",
    "apply": "deploy.render:run_apply",
    "destroy": "deploy.render:run_destroy",
    "doctor": "deploy.doctor:run_doctor",
    "status": "deploy.status:run_status",
    "inventory": "deploy.inventory_cli:run_inventory",
    "adopt": "deploy.inventory_cli:run_adopt",
}


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.environ = os.environ if environ is None else environ  # inventory and adopt read it
    out, err = out or sys.stdout, err or sys.stderr
    from deploy import clients as client_factory
    from deploy.config import load
    from deploy.engine import Session, lookup_facts
    from deploy.references import ReferenceProblems
    from shared.errors import CertsyncError, ConfigError
    from shared.logging import configure_logging
    from shared.settings import EXIT_CONFIG

    configure_logging(err)  # retries and warnings: stdout holds only the result
    refused = refuse_unattended(args, sys.stdin)
    if refused:
        return _refuse([refused], args, (out, err), EXIT_CONFIG)
    problems: list[str] = []  # every problem at once: the config's and the environment's
    config = apikey = None
    try:
        config = load(args.config)
    except ConfigError as exc:
        problems += exc.problems
    try:
        apikey = client_factory.read_apikey(args.environ)
    except ConfigError as exc:
        problems += exc.problems
    if config is None or apikey is None:
        return _refuse(problems, args, (out, err), EXIT_CONFIG)
    module, _, name = RUNNERS[args.verb].partition(":")
    try:
        looked_up = client_factory.account(config, apikey)
        facts = lookup_facts(looked_up, config)
        clients = client_factory.build(config, looked_up, facts)
        session = Session(config, clients, facts, lambda text: print(text, file=err, flush=True))
        header = (
            f"certsync {args.verb}: project '{facts.project_name}' ({config.region}), "
            f"config {config.path}"
        )
        runner = getattr(importlib.import_module(module), name)
        return int(runner(session, args, header, out))
    except ReferenceProblems as exc:  # what certsync.yaml points at: one line each
        code = _refuse(exc.problems, args, (out, err), EXIT_FAILED)
        print(f"deploy: {args.verb}: nothing was changed", file=err)
        return code
    except CertsyncError as exc:
        print(f"deploy: {args.verb} failed: {exc}", file=err)
        if args.json:
            dump(out, {"ok": False, "error": str(exc)})
        return EXIT_FAILED


def _refuse(
    problems: list[str], args: argparse.Namespace, streams: tuple[TextIO, TextIO], code: int
) -> int:
    """Each problem on stderr, and with `--json` the document naming them."""
    out, err = streams
    for problem in problems:
        print(f"deploy: {problem}", file=err)
    if args.json:
        dump(out, {"ok": False, "problems": problems})
    return code


def refuse_unattended(args: argparse.Namespace, stdin: TextIO) -> str | None:
    """`destroy` deletes only with a yes: from a terminal, or `--yes` where there is none."""
    if args.verb == "destroy" and not args.yes and not stdin.isatty():
        return (
            "destroy: there is no terminal to ask on and --yes was not given: nothing was "
            "read or deleted (run it again with --yes to delete)"
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
