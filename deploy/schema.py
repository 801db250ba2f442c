"""What certsync.yaml may hold, and the mistakes people make writing it, named with a fix.

Every key at every depth is checked against `SCHEMA`; an unknown one gets the closest known key
as a suggestion (`code_engine.ulr` -> `code_engine.url`). Variables under `env.job` and
`env.trigger` are checked against the names the job and the trigger read (`VARIABLES` next to
each one's Settings): one that looks like certsync's but is not (`CERTSYNC_CONCURENCY`) is named.
A YAML error gives its line and column; a CRN pasted unquoted (it ends in `::`, which YAML reads
as a mapping) gets a hint to quote it or to write the GUID inside it.
"""

from __future__ import annotations

import re
from typing import Any

from shared.crn import parse_crn
from shared.names import close_to, did_you_mean

# A key's value is checked further (a nested mapping of known keys), or is a leaf (None): a
# scalar, a list or a free mapping (`code_engine.urls`: region -> URL; `mappings`, checked by the
# job's own parser; `env.*`, checked against the variables below).
SIZE = {"cpu": None, "memory": None}
SCHEMA: dict[str, Any] = {
    "name": None,
    "region": None,
    "iam_url": None,
    "resource_controller_url": None,
    "code_engine": {"project": None, "url": None, "urls": None},
    "secrets_manager": {"instance_id": None, "url": None},
    "event_notifications": {"instance_id": None, "url": None},
    "mappings": None,
    "delivery": None,
    "schedule": None,
    "images": {"job": None, "trigger": None, "registry_secret": None},
    "build": {
        "source": None,
        "revision": None,
        "registry": None,
        "registry_secret": None,
        "tag": None,
    },
    "env": {"job": None, "trigger": None},
    "alerts": None,
    "expiry_warn_days": None,
    "watch_unmanaged": None,
    "job": SIZE,
    "trigger": {**SIZE, "min_instances": None},
}
# How close a variable name must be to a known one to be taken for a typo of it, when it does not
# start with CERTSYNC_ (other variables, `HTTPS_PROXY` say, are the user's own business).
LOOKALIKE = 0.85


def unknown_keys(raw: dict[str, Any], schema: dict[str, Any] = SCHEMA, at: str = "") -> list[str]:
    """One problem per key that `schema` does not know, at every depth, each with a suggestion."""
    problems = []
    for key, value in raw.items():
        path = f"{at}{key}"
        if not isinstance(key, str) or key not in schema:
            problems.append(_unknown(str(key), path, at, schema))
        elif isinstance(schema[key], dict) and isinstance(value, dict):
            problems += unknown_keys(value, schema[key], f"{path}.")
    return problems


def _unknown(key: str, path: str, at: str, schema: dict[str, Any]) -> str:
    if key.startswith("crn:"):
        return (
            f"'{at.rstrip('.') or 'the top level'}' holds a CRN as a key: {unquoted_crn_hint(key)}"
        )
    match = close_to(key, schema)
    if match:
        return f"unknown key '{path}'; did you mean '{at}{match}'?"
    return f"unknown key '{path}'; known keys here: {', '.join(schema)}"


def unknown_variables(component: str, names: list[str]) -> list[str]:
    """A problem for each `env.<component>` name that looks like certsync's but is not one."""
    if not names:
        return []
    # Imported only when there are variables to check: each Settings module brings the job's or
    # the trigger's dependencies, which most configs (and `inventory`) never need.
    from job.settings import VARIABLES as JOB_VARIABLES
    from trigger.settings import VARIABLES as TRIGGER_VARIABLES

    known = {"job": JOB_VARIABLES, "trigger": TRIGGER_VARIABLES}[component]
    problems = []
    for name in names:
        if name in known:
            continue
        if name.startswith("CERTSYNC_") or close_to(name, known, cutoff=LOOKALIKE):
            cutoff = 0.6 if name.startswith("CERTSYNC_") else LOOKALIKE
            problems.append(
                f"unknown variable 'env.{component}.{name}': the {component} does not read it"
                f"{did_you_mean(name, known, cutoff=cutoff)}"
            )
    return problems


def yaml_problem(where: str, exc: Exception, text: str) -> str:
    """`<file>:<line>:<column>: not valid YAML: <problem>`, with a hint for an unquoted CRN."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{where}: not valid YAML: {problem}"
    line, column = mark.line + 1, mark.column + 1
    message = f"{where}:{line}:{column}: not valid YAML (line {line}, column {column}): {problem}"
    lines = text.splitlines()
    source = lines[mark.line] if mark.line < len(lines) else ""
    crn = re.search(r"crn:v1:\S*", source)
    if crn:
        message += f"; {unquoted_crn_hint(crn.group(0))}"
    return message


def unquoted_crn_hint(text: str) -> str:
    crn = parse_crn(text.rstrip(":") + "::")
    guid = f" ({crn.service_instance})" if crn and crn.service_instance else ""
    return (
        "a CRN ends in '::', which YAML reads as a mapping: put it in double quotes "
        f'("crn:v1:...::"), or write the GUID inside it{guid} instead'
    )
