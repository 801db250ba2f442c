"""Code Engine v2: the request checks and errors its parts share.

Known real behaviour (SDK docs, terraform-provider-ibm validators, IBM's SDK examples):
- every call carries `version=YYYY-MM-DD`; the SDK documents dates 2021-03-31 .. 2026-09-04.
- secret names: 1..253 chars, lowercase DNS subdomain (`SECRET_NAME`); job names: 1..63 chars,
  lowercase DNS label (`JOB_NAME`); job-run names the same, but at most 53 chars
  (`job_settings`).
- a job and a job run are at most 10 KiB, environment variables included (docs `limits.md`
  "Job size limit"; `ts-jobrun-submitfailscli.md` cause 4): checked on create job, update job
  and create job run.

Unknown, so the stricter choice is made: a missing/malformed/too-old/future `version` is a 400.
The exact `errors[0].code` strings of the real service are not published; ours are descriptive.
Whether an oversized job answers 400 or 413 is not documented ("a size limit exceeded error"):
we answer 400, the status of every other invalid body. What real Code Engine measures is not
documented either (probably the stored resource); we measure the request body, and for a job run
that references a job, the job's settings too (`check_size`: a stricter guess).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from localcloud.http import BadRequest

OLDEST_VERSION = dt.date(2021, 3, 31)
MAX_SIZE = 10 * 1024  # bytes of a job or job run, "10 KiB" (limits.md #job_size_limit)

SECRET_NAME = re.compile(r"^[a-z0-9]([\-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([\-a-z0-9]*[a-z0-9])?)*$")
JOB_NAME = re.compile(r"^[a-z0-9]([\-a-z0-9]*[a-z0-9])?$")
PROJECT_ID = re.compile(r"^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$")
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def not_found(kind: str, name: str) -> BadRequest:
    return BadRequest(f"{kind} '{name}' not found", status=404, code="not_found")


def conflict(kind: str, name: str) -> BadRequest:
    return BadRequest(f"{kind} '{name}' already exists", status=409, code="already_exists")


def invalid(message: str) -> BadRequest:
    return BadRequest(message, status=400, code="invalid_input")


def check_if_match(kind: str, name: str, if_match: str | None, entity_tag: str) -> None:
    """`If-Match` is required (missing: 400, our strict choice); `*` matches any version;
    anything else must equal the current entity tag exactly, else 412."""
    if not if_match:
        raise BadRequest("The 'If-Match' header is required", code="missing_if_match")
    if if_match not in ("*", entity_tag):
        raise BadRequest(
            f"{kind} '{name}' was modified: If-Match '{if_match[:64]}' does not match "
            "the current entity tag",
            status=412,
            code="precondition_failed",
        )


def check_size(
    body: Mapping[str, Any],
    size: int | None,
    what: str,
    *,
    job: tuple[str, Mapping[str, Any]] | None = None,
) -> None:
    """400 when a job or job run (`what`) is over 10 KiB. `size` is the request body's length in
    bytes; in-process callers pass None and `body` is measured as the SDK core would send it
    (`json.dumps` with default separators, ibm_cloud_sdk_core/base_service.py prepare_request).

    `job`: the name and settings of the job a run references. Whether its definition counts
    towards the run's 10 KiB is not documented (a run inherits the job's settings, and what is
    measured is not said); the stricter guess is that it does, measured the same way."""
    if size is None:
        size = len(json.dumps(body).encode())
    inherited = len(json.dumps(job[1]).encode()) if job is not None else 0
    if size + inherited > MAX_SIZE:
        counted = f" with the {inherited} bytes of job '{job[0]}'" if job is not None else ""
        raise BadRequest(
            f"The {what} is {size + inherited} bytes{counted}; the maximum size of a {what} is "
            f"10 KiB ({MAX_SIZE} bytes), environment variables included",
            code="request_too_large",
        )


def check_version(request: Request) -> None:
    """400 unless `version` is a real date in [2021-03-31, today]."""
    raw = request.query_params.get("version")
    if raw is None or raw == "":
        raise BadRequest(
            "The 'version' query parameter is required", code="missing_version_parameter"
        )
    try:
        if not VERSION.match(raw):
            raise ValueError(raw)
        date = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"Invalid 'version' query parameter '{raw}': expected format YYYY-MM-DD",
            code="invalid_version_parameter",
        ) from None
    if date < OLDEST_VERSION or date > dt.datetime.now(dt.UTC).date():
        raise BadRequest(
            f"Invalid 'version' query parameter '{raw}': must be between "
            f"{OLDEST_VERSION.isoformat()} and today",
            code="invalid_version_parameter",
        )


def check_name(name: Any, pattern: re.Pattern[str], max_len: int, field: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise invalid(f"'{field}' is required and must be a non-empty string")
    if len(name) > max_len or not pattern.fullmatch(name):  # re's `$` also matches before "\n"
        raise invalid(
            f"Invalid '{field}': must be at most {max_len} characters of lowercase "
            "alphanumerics or '-', starting and ending with an alphanumeric"
        )
    return name


def pick(body: Mapping[str, Any], field: str, kind: type, default: Any = None) -> Any:
    """A typed optional body field; 400 when present with the wrong type."""
    value = body.get(field, default)
    if value is None:
        return default
    if kind is int and isinstance(value, bool):
        raise invalid(f"'{field}' must be of type integer")
    if not isinstance(value, kind):
        raise invalid(f"'{field}' must be of type {kind.__name__}")
    return value


def str_list(body: Mapping[str, Any], field: str) -> list[str]:
    value = pick(body, field, list, [])
    if not all(isinstance(v, str) for v in value):
        raise invalid(f"'{field}' must be an array of strings")
    return list(value)


def reject_unknown(body: Mapping[str, Any], allowed: set[str]) -> None:
    """Unknown body fields are a 400 (stricter choice: the real handling is undocumented)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"Unknown field(s): {', '.join(unknown)}")
