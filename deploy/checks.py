"""What `doctor` reports: one line per check, with its status and the fix it names."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    MANUAL = "manual"


@dataclass(frozen=True)
class Check:
    status: Status
    what: str
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "status": self.status.value.lower(),
            "what": self.what,
            "detail": self.detail,
            "fix": self.fix,
        }
