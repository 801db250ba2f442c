"""How much CPU and memory the job and the trigger app get in Code Engine.

Code Engine gives an app or a job 1 vCPU and 4 GB unless told otherwise, and accepts only the
combinations of its table (ibm-cloud-docs/codeengine `mem-cpu-combo.md`, "Supported combinations
for apps and jobs"); memory is written with `M` or `G`, decimal units (`cmd_defs.md` `--memory`).
certsync's defaults are the smallest combinations its measurements allow (README, "Cost"):

- the job: 0.125 vCPU with 0.25 GB. Syncing 1,000 mappings its peak resident memory is 77 MB
  (`python -m scripts.bench --job --mappings 1000`; 59 MB for one mapping). Its work is batch:
  a smaller CPU share only stretches a run (the 1,000-mapping first sync's 2.6 CPU seconds take
  about 21 s at 0.125 vCPU), far inside the job's 900 s limit.
- the trigger: 0.5 vCPU with 1 GB (the least memory 0.5 vCPU comes with). Its memory peaks at
  56 MB, but it costs about 1.3 ms of CPU per rotation it acknowledges and submits, so the
  benchmark's 200 rotations/s need 0.26 vCPU (more than 0.25), and a cold start (scale from zero,
  0.5 s on a full core) must answer within Event Notifications' 10 s delivery timeout
  (`python -m scripts.bench --trigger`). It scales to zero, so it costs only while it answers.

`job.cpu`/`job.memory` and `trigger.cpu`/`trigger.memory` in certsync.yaml override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# vCPU -> the memory (GB) it may have, as `mem-cpu-combo.md` lists them.
COMBINATIONS: dict[Decimal, tuple[Decimal, ...]] = {
    Decimal(cpu): tuple(Decimal(gb) for gb in memories.split())
    for cpu, memories in {
        "0.125": "0.25 0.5 1",
        "0.25": "0.5 1 2",
        "0.5": "1 2 4",
        "1": "2 4 8",
        "2": "4 8 16",
        "4": "8 16 32",
        "6": "12 24 48",
        "8": "16 32",
        "10": "20 40",
        "12": "24 48",
    }.items()
}


@dataclass(frozen=True)
class Size:
    """As the Code Engine API takes them: `scale_cpu_limit` and `scale_memory_limit`."""

    cpu: str  # vCPU, e.g. "0.125"
    memory: str  # e.g. "0.25G"

    def spec(self) -> dict[str, str]:
        return {"scale_cpu_limit": self.cpu, "scale_memory_limit": self.memory}


JOB = Size("0.125", "0.25G")
TRIGGER = Size("0.5", "1G")
DEFAULTS = {"job": JOB, "trigger": TRIGGER}


def parse_size(section: str, raw: dict[str, Any]) -> tuple[Size, list[str]]:
    """`<section>.cpu` and `<section>.memory` (each defaulting to certsync's), checked against
    the supported combinations; (size, problems naming the keys)."""
    default = DEFAULTS[section]
    cpu, memory = vcpu(raw.get("cpu", default.cpu)), gigabytes(raw.get("memory", default.memory))
    problems = []
    if cpu is None or cpu not in COMBINATIONS:
        cpus = ", ".join(str(c) for c in COMBINATIONS)
        problems.append(f"'{section}.cpu' has value {raw.get('cpu')!r}: use one of {cpus} (vCPU)")
    if memory is None:
        problems.append(
            f"'{section}.memory' has value {raw.get('memory')!r}: expected an amount in G or M "
            "(decimal units), e.g. 0.25G or 500M"
        )
    if problems or cpu is None or memory is None:
        return default, problems
    if memory not in COMBINATIONS[cpu]:
        allowed = ", ".join(f"{gb}G" for gb in COMBINATIONS[cpu])
        return default, [
            f"'{section}.cpu' {_text(cpu)} with '{section}.memory' {_text(memory)}G is not a "
            f"combination Code Engine supports: with {_text(cpu)} vCPU use {allowed} (Code Engine "
            "docs, "
            "'Supported memory and CPU combinations')"
        ]
    return Size(_text(cpu), f"{_text(memory)}G"), []


def canonical(spec: dict[str, Any]) -> dict[str, Any]:
    """`scale_cpu_limit`/`scale_memory_limit` as `Size` writes them, whichever spelling the API
    answers with ("250M" is "0.25G"), so that a plan never shows a change that is none."""
    out = dict(spec)
    cpu, memory = vcpu(spec.get("scale_cpu_limit")), gigabytes(spec.get("scale_memory_limit"))
    if cpu is not None:
        out["scale_cpu_limit"] = _text(cpu)
    if memory is not None:
        out["scale_memory_limit"] = f"{_text(memory)}G"
    return out


def _text(amount: Decimal) -> str:
    return format(amount.normalize(), "f")  # "10", not "1E+1"


def vcpu(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def gigabytes(value: Any) -> Decimal | None:
    text = str(value).strip() if isinstance(value, str) else ""
    unit = text[-1:]
    if unit not in ("G", "M"):
        return None
    try:
        amount = Decimal(text[:-1])
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    return amount if unit == "G" else amount / 1000
