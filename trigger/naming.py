"""Deterministic Code Engine job-run names: one notification, one name, however often it arrives."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
HASH_CHARS = 12  # 48 bits of sha256: collisions between notifications are not a practical concern
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


def is_valid_name(name: str) -> bool:
    """A Code Engine resource name: lowercase DNS-label-like, at most 63 characters."""
    return len(name) <= MAX_NAME and _NAME.match(name) is not None


def job_run_name(job_name: str, notification_key: str) -> str:
    """`<job>-<hash>`: the job's name (shortened to fit) and a hash of the job and the key.

    The key is the notification's `notification_id` (else its `id`), so a redelivery maps to the
    same name and Code Engine answers 409 instead of starting a second run.
    """
    # surrogatepass: a JSON string may carry lone surrogates ("\ud800"), which UTF-8 rejects
    material = f"{job_name}\0{notification_key}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(material).hexdigest()[:HASH_CHARS]
    prefix = _NOT_ALLOWED.sub("-", job_name.lower()).strip("-")
    prefix = prefix[: MAX_NAME - HASH_CHARS - 1].rstrip("-")
    return f"{prefix}-{digest}" if prefix else f"run-{digest}"
