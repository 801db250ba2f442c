"""`python -m deploy`'s command line: the verbs, each verb's options, and how results are written.
Light on purpose: `--help` imports nothing else."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

from shared import __version__

EXIT_OK, EXIT_FAILED = 0, 1
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes present (as Terraform has it)
CANARY_TIMEOUT = 300.0
VERB_HELP = {
    "plan": "preview: what apply would create, change or keep, and why; changes nothing",
    "apply": "make the account match the config (shows the plan first)",
    "doctor": "check every piece and permission end to end",
    "status": "each target's last sync, its domains, and the job's last run; changes nothing",
    "destroy": "remove what certsync created, nothing else",
    "inventory": "every TLS secret, domain and candidate certificate in the account; reads only",
    "adopt": "turn the inventory's unambiguous findings into mappings (--write adds them)",
}
YES_HELP = {
    "apply": "on a terminal, delete what the plan deletes without asking",
    "destroy": "delete without asking (required when there is no terminal to ask on)",
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Each verb has its own options (`python -m deploy <verb> --help`); none needs a config."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Install certsync on IBM Cloud from a config file, check it, or remove it.",
    )
    parser.add_argument("--version", action="version", version=f"certsync {__version__}")
    verbs = parser.add_subparsers(
        dest="verb", required=True, metavar="{" + ",".join(VERB_HELP) + "}"
    )
    for verb, summary in VERB_HELP.items():
        sub = verbs.add_parser(verb, help=summary, description=summary)
        sub.add_argument("--config", default="certsync.yaml", help="default: certsync.yaml")
        sub.add_argument("--json", action="store_true", help="one JSON document on stdout")
        _options(verb, sub)
    return parser.parse_args(argv)


def _options(verb: str, sub: argparse.ArgumentParser) -> None:
    if verb == "plan":
        sub.add_argument(
            "--detailed-exitcode",
            action="store_true",
            help=f"exit {EXIT_OK} when nothing would change, {EXIT_CHANGES} when something would, "
            f"{EXIT_FAILED} on an error or a conflict (as terraform plan -detailed-exitcode)",
        )
    if verb in YES_HELP:
        sub.add_argument("--yes", action="store_true", help=YES_HELP[verb])
    if verb == "doctor":
        sub.add_argument(
            "--canary",
            action="store_true",
            help="also rotate a canary certificate and follow it hop by hop into Code Engine",
        )
        sub.add_argument(
            "--canary-timeout",
            type=float,
            default=CANARY_TIMEOUT,
            metavar="SECONDS",
            help=f"how long the whole canary may take (default {CANARY_TIMEOUT:.0f})",
        )
    if verb in ("inventory", "adopt"):
        sub.add_argument(
            "--regions",
            metavar="R1,R2|all",
            help="Code Engine regions to read (default: the config's region and its mappings')",
        )
    if verb == "inventory":
        sub.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    if verb == "adopt":
        sub.add_argument(
            "--write",
            action="store_true",
            help="add the mappings to the config file (keeps comments)",
        )


def dump(out: TextIO, body: dict[str, Any]) -> None:
    print(json.dumps(body, indent=2, sort_keys=True), file=out)
