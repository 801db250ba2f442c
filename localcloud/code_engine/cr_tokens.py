"""Code Engine v2: the compute-resource token of a job run or app instance with trusted profiles.

"After you enable trusted profile support for your Code Engine application, function, or job, an
additional file is automatically available in the file system where your code runs:
`/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token`" (docs
`trusted-profiles-authenticate-file.md`), enabled per job, job run or app by
`run_compute_resource_token_enabled` (SDK `create_job`/`create_app`: "enable the use of a
compute resource token mounted to the container file system"). The token comes from IAM
(`site.iam.compute_resource_token`), which later trades it for an access token of a trusted
profile that trusts the component.

The SDK core's `ContainerAuthenticator` reads that path by default. The emulator cannot write
there (and its processes share one file system), so it writes the token to a file of its own and
points the SDK at it: for every `<PREFIX>_AUTH_TYPE=container` in the instance's environment it
sets `<PREFIX>_CR_TOKEN_FILENAME` (the SDK's external configuration property `CR_TOKEN_FILENAME`),
unless that is already set. Without the flag there is no token and no such variable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

REAL_PATH = "/var/run/secrets/codeengine.cloud.ibm.com/compute-resource-token/token"
AUTH_TYPE = "_AUTH_TYPE"
CONTAINER = "container"


class TokenFiles:
    """Token files under one private temporary directory, removed by `close`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: Path | None = None

    def write(self, instance: str, token: str) -> str:
        """Write `token` for `instance` (a job run, an app revision); its path. Readable by the
        owner only, which is the user every local instance runs as."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="localcloud-ce-tokens-"))
            folder = self._root / instance
            folder.mkdir(mode=0o700, exist_ok=True)
            path = folder / "token"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(token)
            return str(path)

    def remove(self, instance: str) -> None:
        with self._lock:
            if self._root is not None:
                shutil.rmtree(self._root / instance, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None


def with_token_file(env: Mapping[str, str], path: str) -> dict[str, str]:
    """`env` plus `<PREFIX>_CR_TOKEN_FILENAME=path` for each `<PREFIX>_AUTH_TYPE=container` (the
    SDK core compares auth types case-insensitively), where not already set."""
    out = dict(env)
    for name, value in env.items():
        if name.endswith(AUTH_TYPE) and value.strip().lower() == CONTAINER:
            out.setdefault(f"{name[: -len(AUTH_TYPE)]}_CR_TOKEN_FILENAME", path)
    return out
