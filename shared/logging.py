"""structlog set-up: JSON lines (or a console renderer on a TTY), context via contextvars.

Each JSON line carries `timestamp` (ISO-8601 UTC), `level` and `message` (the event name, also in
`event`), which is where IBM Cloud Logs reads a line's severity and text; data stays in its keys.

A last-line-of-defence processor withholds anything that looks like key or certificate material
or a bearer token, so a mistake elsewhere cannot print a secret.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

# One pattern, so a value costs one search (every value of every line is checked).
_SECRET = re.compile(
    r"-----BEGIN [A-Z0-9 ]+-----"  # PEM: certificates and keys
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."  # a JWT (IAM access token)
    r"|(?i:\bbearer\s+\S{8,})"
)
WITHHELD = "[withheld: looked like secret material]"


def redact_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(value)
    return event_dict


def _redact(value: Any) -> Any:
    """`value` with secret-looking strings withheld, inside dicts, lists and tuples too."""
    if isinstance(value, str):
        return WITHHELD if _SECRET.search(value) else value
    if value is None or isinstance(value, int | float):  # bool is an int
        return value
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    # Anything else (an exception, a model object) is rendered with str()/repr(): check that too.
    return WITHHELD if _redact(repr(value)) == WITHHELD else value


def add_message(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """IBM Cloud Logs shows `message` as a line's text: the event name (`target_updated`)."""
    event_dict["message"] = event_dict.get("event")
    return event_dict


def configure_logging(
    stream: TextIO | None = None,
    *,
    json: bool | None = None,
    level: int = logging.INFO,
) -> None:
    """Configure structlog. `json=None` picks JSON unless `stream` is a TTY. Loggers are not
    cached on first use, so a later call applies to every logger: `deploy.__main__.main` is a
    function that scripts and tests call many times in one process, each with its own streams."""
    out = stream or sys.stdout
    use_json = json if json is not None else not out.isatty()
    rendering: list[Any] = (
        [add_message, redact_secrets, structlog.processors.JSONRenderer()]
        if use_json
        else [redact_secrets, structlog.dev.ConsoleRenderer(colors=False)]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            *rendering,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # The SDKs log through stdlib logging; keep them quiet (their debug output includes headers).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for name in ("ibm_cloud_sdk_core", "urllib3", "requests"):
        logging.getLogger(name).setLevel(logging.WARNING)
