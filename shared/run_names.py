"""Code Engine job-run names: one rule for every run certsync submits.

Code Engine's CLI reference allows a job run name of 53 characters or fewer, lowercase letters,
numbers and hyphens (`ibmcloud ce jobrun submit --name`, docs `cmd_defs.md`); its API reference
allows 63 (the DNS-label rule of jobs). Every name here keeps the stricter 53 for any valid job
name (63 characters): `<job>[-<purpose>]-<hash>[-<part>]`, the job's name shortened to fit.

- The trigger's rotation runs (`ROTATION`, no purpose word) hash the notification's key, so a
  redelivery maps to the same names and Code Engine answers 409 instead of starting a second run.
- `deploy doctor`'s dry run (`DOCTOR`) hashes a fresh token, so each check is a new run.
"""

from __future__ import annotations

import hashlib
import re

MAX_JOB_NAME = 63  # a Code Engine job (or other resource) name
MAX_RUN_NAME = 53
HASH_CHARS = 12  # 48 bits of sha256: collisions between notifications are not a practical concern
MAX_PARTS = 100  # a notification names at most 100 secrets, so it never needs more runs
ROTATION = ""  # the trigger's runs carry no purpose word: their names are those of earlier versions
DOCTOR = "doctor"
_PART_CHARS = len(f"-{MAX_PARTS}")
_PURPOSE = re.compile(r"^[a-z]{0,10}$")
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


def is_valid_name(name: str, limit: int = MAX_JOB_NAME) -> bool:
    """A Code Engine resource name: lowercase DNS-label-like, at most `limit` characters."""
    return len(name) <= limit and _NAME.match(name) is not None


def run_name(job: str, purpose: str, key: str, part: int | None = None) -> str:
    """`<job>-<purpose>-<hash>`, or `...-<part>` for part 1, 2, ... of a notification split into
    several runs: the job's name (shortened to fit), `purpose` (one short lowercase word, or
    `ROTATION`: none) and a hash of the job, the purpose and `key`. The same arguments give the
    same name; the result is a valid run name of at most `MAX_RUN_NAME` characters."""
    if not _PURPOSE.match(purpose):
        raise ValueError(f"purpose {purpose!r} is not a lowercase word of at most 10 letters")
    if part is not None and not 1 <= part <= MAX_PARTS:
        raise ValueError(f"part {part} is outside 1..{MAX_PARTS}")
    material = f"{job}\0{key}" + (f"\0{purpose}" if purpose else "")
    # surrogatepass: a JSON string may carry lone surrogates ("\ud800"), which UTF-8 rejects
    digest = hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    tail = f"-{purpose}-{digest}" if purpose else f"-{digest}"
    prefix = _NOT_ALLOWED.sub("-", job.lower()).strip("-")
    prefix = prefix[: MAX_RUN_NAME - len(tail) - _PART_CHARS].rstrip("-")
    name = f"{prefix or 'run'}{tail}"
    return name if part is None else f"{name}-{part}"
