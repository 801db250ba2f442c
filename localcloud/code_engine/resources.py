"""Code Engine v2: an app's or a job's CPU, memory and ephemeral storage, checked as documented.

Documented (ibm-cloud-docs/codeengine `mem-cpu-combo.md`, "Supported combinations for apps and
jobs"): only the combinations of the table below are valid; "any new apps or jobs as well as any
changes to existing apps or jobs must comply with the list of valid choices" (the default is 1 vCPU
with 4 GB). Memory and ephemeral storage are written with `M` (megabytes) or `G` (gigabytes),
decimal units (the SDK's `scale_memory_limit` docstring; `cmd_defs.md` `--memory`: "Use `M` for
megabytes or `G` for gigabytes"). Ephemeral storage "cannot exceed the default value of 0.4 GB
(400 MB) or the configured value for memory" (`mem-cpu-combo.md`, `limits.md`).

Unknown, so the stricter choice is made: the exact error text and code of a refused combination
(we answer 400 `invalid_input`, naming both values); whether binary units (`Mi`, `Gi`) or a
bare number are accepted (refused here); a memory that is the right amount in another spelling
(`250M` for 0.25 GB) is accepted, because the units are decimal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from localcloud.code_engine.checks import invalid

# vCPU -> the memory (GB) each may have: the CPU-intensive, balanced and memory-intensive columns.
COMBINATIONS: dict[Decimal, tuple[Decimal, ...]] = {
    Decimal(cpu): tuple(Decimal(gb) for gb in memories)
    for cpu, memories in {
        "0.125": ("0.25", "0.5", "1"),
        "0.25": ("0.5", "1", "2"),
        "0.5": ("1", "2", "4"),
        "1": ("2", "4", "8"),
        "2": ("4", "8", "16"),
        "4": ("8", "16", "32"),
        "6": ("12", "24", "48"),
        "8": ("16", "32"),
        "10": ("20", "40"),
        "12": ("24", "48"),
    }.items()
}
DEFAULT_EPHEMERAL_GB = Decimal("0.4")
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)([MG])$")


def check_limits(cpu: str, memory: str, ephemeral: str) -> None:
    """400 unless (cpu, memory) is a documented combination and ephemeral storage fits."""
    vcpu = _cpu(cpu)
    gb = gigabytes(memory, "scale_memory_limit")
    if gb not in COMBINATIONS.get(vcpu, ()):
        raise invalid(
            f"Invalid combination of 'scale_cpu_limit' '{cpu}' and 'scale_memory_limit' "
            f"'{memory}': see the supported memory and CPU combinations (mem-cpu-combo)"
        )
    storage = gigabytes(ephemeral, "scale_ephemeral_storage_limit")
    if storage > max(DEFAULT_EPHEMERAL_GB, gb):
        raise invalid(
            f"'scale_ephemeral_storage_limit' '{ephemeral}' exceeds both 400M and "
            f"'scale_memory_limit' '{memory}'"
        )


def gigabytes(value: str, field: str) -> Decimal:
    found = _AMOUNT.match(value.strip())
    if not found:
        raise invalid(f"Invalid '{field}' '{value[:32]}': use M (megabytes) or G (gigabytes)")
    number = Decimal(found.group(1))
    return number if found.group(2) == "G" else number / 1000


def _cpu(value: str) -> Decimal:
    try:
        vcpu = Decimal(value.strip())
    except InvalidOperation:
        vcpu = Decimal(-1)
    if vcpu not in COMBINATIONS:
        raise invalid(f"Invalid 'scale_cpu_limit' '{value[:32]}': not a supported vCPU amount")
    return vcpu
