"""What `python -m trigger` loads: not the Secrets Manager SDK, which it never calls (each SDK
costs about 0.1 s of start-up, paid on every scale from zero)."""

import subprocess
import sys

from scripts.processes import ROOT

PROBE = (
    "import sys, trigger.__main__, trigger.app, trigger.jobruns; "
    "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in NEVER)))"
)
NEVER = ("ibm_secrets_manager_sdk", "ibm_eventnotifications", "ibm_platform_services", "yaml")


def test_the_trigger_imports_no_sdk_it_does_not_call():
    probe = f"NEVER = {NEVER!r}; {PROBE}"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""
