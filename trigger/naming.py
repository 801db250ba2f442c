"""Deterministic Code Engine job-run names: one notification, the same names however often sent.

Code Engine's API reference allows 63 characters for a job run name; its CLI reference says 53
(`ibmcloud ce jobrun submit --name`). Run names stay within the stricter 53 for any valid job name.
"""

from __future__ import annotations

import hashlib
import re

MAX_JOB_NAME = 63  # a Code Engine job (or other resource) name
MAX_RUN_NAME = 53
HASH_CHARS = 12  # 48 bits of sha256: collisions between notifications are not a practical concern
MAX_PARTS = 100  # a notification names at most 100 secrets, so it never needs more runs
_PART_CHARS = len(f"-{MAX_PARTS}")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


def is_valid_name(name: str, limit: int = MAX_JOB_NAME) -> bool:
    """A Code Engine resource name: lowercase DNS-label-like, at most `limit` characters."""
    return len(name) <= limit and _NAME.match(name) is not None


def job_run_name(job_name: str, notification_key: str, part: int | None = None) -> str:
    """`<job>-<hash>`, or `<job>-<hash>-<part>` for part 1, 2, ... of a notification split into
    several runs: the job's name (shortened to fit) and a hash of the job and the key.

    The key is the notification's `notification_id` (else its `id`), so a redelivery maps to the
    same names and Code Engine answers 409 instead of starting a second run.
    """
    if part is not None and not 1 <= part <= MAX_PARTS:
        raise ValueError(f"part {part} is outside 1..{MAX_PARTS}")
    # surrogatepass: a JSON string may carry lone surrogates ("\ud800"), which UTF-8 rejects
    material = f"{job_name}\0{notification_key}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(material).hexdigest()[:HASH_CHARS]
    prefix = _NOT_ALLOWED.sub("-", job_name.lower()).strip("-")
    prefix = prefix[: MAX_RUN_NAME - HASH_CHARS - 1 - _PART_CHARS].rstrip("-")
    name = f"{prefix}-{digest}" if prefix else f"run-{digest}"
    return name if part is None else f"{name}-{part}"
