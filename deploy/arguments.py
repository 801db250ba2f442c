"""`python -m deploy`'s command line: the verbs and each verb's options."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from deploy.canary import TIMEOUT as CANARY_TIMEOUT
from deploy.inventory_cli import adopt_options, inventory_options
from shared import __version__

EXIT_OK, EXIT_FAILED = 0, 1
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes present (as Terraform has it)
VERBS = ("plan", "apply", "doctor", "status", "destroy", "inventory", "adopt")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Each verb has its own options (`python -m deploy <verb> --help`); none needs a config."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description="Install certsync on IBM Cloud from a config file, check it, or remove it.",
    )
    parser.add_argument("--version", action="version", version=f"certsync {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="{" + ",".join(VERBS) + "}")
    for verb, summary in VERB_HELP.items():
        sub = verbs.add_parser(verb, help=summary, description=summary)
        sub.add_argument("--config", default="certsync.yaml", help="default: certsync.yaml")
        sub.add_argument("--json", action="store_true", help="one JSON document on stdout")
        VERB_OPTIONS.get(verb, lambda _: None)(sub)
    return parser.parse_args(argv)


def _plan_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help=f"exit {EXIT_OK} when nothing would change, {EXIT_CHANGES} when something would, "
        f"{EXIT_FAILED} on an error or a conflict (as terraform plan -detailed-exitcode)",
    )


def _doctor_options(sub: argparse.ArgumentParser) -> None:
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


def _destroy_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--yes",
        action="store_true",
        help="delete without asking (required when there is no terminal to ask on)",
    )


VERB_HELP = {
    "plan": "preview: what apply would create, change or keep, and why; changes nothing",
    "apply": "make the account match the config (shows the plan first)",
    "doctor": "check every piece and permission end to end",
    "status": "each target's last sync, its domains, and the job's last run; changes nothing",
    "destroy": "remove what certsync created, nothing else",
    "inventory": "every TLS secret, domain and candidate certificate in the account; reads only",
    "adopt": "turn the inventory's unambiguous findings into mappings (--write adds them)",
}


def _apply_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--yes",
        action="store_true",
        help="on a terminal, delete what the plan deletes without asking",
    )


VERB_OPTIONS = {
    "plan": _plan_options,
    "apply": _apply_options,
    "doctor": _doctor_options,
    "destroy": _destroy_options,
    "inventory": inventory_options,
    "adopt": adopt_options,
}
