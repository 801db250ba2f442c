"""The README's configuration tables against the variables the code reads, and its spelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from job.settings import VARIABLES as JOB_VARIABLES
from shared.settings import FALSE, TRUE, EnvReader
from trigger.settings import VARIABLES as TRIGGER_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
KNOWN = {*JOB_VARIABLES, *TRIGGER_VARIABLES}
# An environment read with a literal name: `env.get("X")`, `env.integer("X", ...)`, ...
READ = re.compile(r"\benv\.(?:get|require|secret|integer|number|boolean)\(\s*\"([A-Za-z_]\w*)\"")
DEPLOY_ONLY = {"IBMCLOUD_API_KEY"}  # what `python -m deploy` reads (deploy/clients.py)
MARKER = "CERTSYNC_MANAGED_BY"  # written by deploy as a marker, read by nobody
MISTYPED = "CERTSYNC_CONCURENCY"  # the README's example of what deploy names as a typo


def table_names() -> set[str]:
    """What the first cells of README's table rows name: `NAME`, or `PREFIX_*` for a family."""
    cells = [line.split("|")[1] for line in README.splitlines() if line.startswith("| `")]
    return {name for cell in cells for name in re.findall(r"`([A-Za-z_][\w*]*)`", cell)}


def documented(name: str) -> bool:
    """A row of its own in a table, or a `PREFIX_*` row (`CODE_ENGINE_*`) that covers it."""
    rows = table_names()
    prefixes = [row[:-1] for row in rows if row.endswith("_*")]
    return name in rows or any(name.startswith(prefix) for prefix in prefixes)


@pytest.mark.parametrize("name", sorted(KNOWN | DEPLOY_ONLY))
def test_every_variable_the_code_reads_is_in_the_readme(name: str) -> None:
    assert documented(name), f"{name} is read by the code but not in README.md's tables"


def test_every_literal_read_in_the_code_is_a_known_variable() -> None:
    sources = [p for d in ("job", "trigger", "shared") for p in (ROOT / d).glob("*.py")]
    read = {name for path in sources for name in READ.findall(path.read_text(encoding="utf-8"))}
    assert read, "the pattern found no reads: it no longer matches the code"
    assert read - KNOWN == set()


def test_every_certsync_variable_the_readme_names_exists() -> None:
    named = set(re.findall(r"\bCERTSYNC_[A-Z0-9_]*[A-Z0-9]\b", README)) - {MARKER, MISTYPED}
    assert named - KNOWN == set()


def test_a_name_missing_from_the_known_list_is_a_bug_raised_at_once() -> None:
    with pytest.raises(LookupError, match="CERTSYNC_NEW"):
        EnvReader({}, ("CERTSYNC_OLD",)).get("CERTSYNC_NEW")


def test_on_off_settings_accept_both_spellings_and_the_readme_says_true_false() -> None:
    assert {"true", "on", "yes", "1"} <= TRUE
    assert {"false", "off", "no", "0"} <= FALSE
    for value, expected in (("on", True), ("off", False), ("true", True), ("FALSE", False)):
        assert EnvReader({"X": value}).boolean("X") is expected
    assert not re.search(r"CERTSYNC_\w+=(?:on|off|yes|no|0|1)\b", README)
    assert "`on` (default) or `off`" not in README


def test_the_resources_table_names_what_plan_prints() -> None:
    """README's "What `apply` manages": each row's kind and names are `plan`'s (deploy/desired)."""
    from deploy.config import parse
    from deploy.desired import desired
    from tests.builders import deploy_config
    from tests.unit.test_deploy_config_checks import FACTS

    built = {"source": "https://github.com/x/certsync", "registry": "r", "registry_secret": "s"}
    printed = {
        (r.kind.value, r.name)
        for delivery in ("webhook", "job")
        for r in desired(parse(deploy_config(delivery=delivery, images=None, build=built)), FACTS)
    }
    section = README.split("**What `apply` manages**", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1:3] for line in section.splitlines()[2:]]
    documented = {
        (kind.split("(")[0].strip(), name)
        for kind, names in rows
        for name in re.findall(r"`([^`]+)`", names)
        if "<" not in name
    }
    assert printed - documented == set()
    assert documented - printed == set()
