"""Code Engine v2: whether a job run's or an app's image can be pulled with its `image_secret`.

Known real behaviour:
- "If the image reference points to a registry that requires authentication, the job / job runs
  will be created but submitted job runs will fail, until this property is provided, too" (SDK
  `ibm_code_engine_sdk/code_engine_v2.py`, `create_job` / `create_job_run` `image_secret`); for
  apps "the app will be created but cannot reach the ready status" (`create_app`).
- A reference without a registry host is on `docker.io` (same docstrings).
- "accessing a private registry does require credentials"; "If your registry is public and does
  not require credentials; for example, Code Engine sample images in `icr.io/codeengine` or
  Docker Hub public, then you do not need a registry secret" (docs `add-registry.md`).
- The API does not create the CLI's automatic `ce-auto-icr-private-<region>` secret: the CLI
  makes it, and only with `--build-source` (docs `add-registry.md`, "Types of registry secrets").
- The pull error names the image: `Failed to pull image "<image>": ... pull access denied,
  repository does not exist or may require authorization` (docs `ts-image-imagepullfails.md`).

Which registries are private here: IBM Cloud Container Registry, `icr.io` and every host under
it (the regional `us.icr.io`, `de.icr.io`, ..., and `private.*` endpoints): its namespaces are
private to the account (docs `add-registry.md` lists it as the private registry type), except
IBM's public samples under `icr.io/codeengine/`. Every other registry counts as public (the
emulator cannot know which Docker Hub repositories are private; that is the lenient side).

Unknown, stricter choices: the pull secret must exist, have format `registry` and name the
image's host as its `server` (Kubernetes matches a pull secret's credentials to the registry by
host; a secret of another host gives no credentials); what each case shows as a reason is our
choice among the SDK's `AppRevisionStatus` reasons (below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from localcloud.code_engine.model import Secret

REGISTRY_FORMAT = "registry"
DEFAULT_REGISTRY = "docker.io"
PUBLIC_NAMESPACES = ("icr.io/codeengine/",)  # docs `add-registry.md`: public sample images


@dataclass(frozen=True)
class PullFailure:
    reason: str  # the app revision's reason, an SDK `AppRevisionStatus.ReasonEnum` value
    message: str  # what a job run instance's events show


def registry_host(image_reference: str) -> str:
    """The registry of a reference: its first part when that names a host (a `.` or `:` in it,
    or `localhost`, as Docker reads references), else `docker.io`."""
    first, slash, _ = image_reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return DEFAULT_REGISTRY


def is_private(image_reference: str) -> bool:
    host = registry_host(image_reference)
    if image_reference.startswith(PUBLIC_NAMESPACES):
        return False
    return host == "icr.io" or host.endswith(".icr.io")


def pull_failure(
    image_reference: str, image_secret: str | None, secret: Callable[[str], Secret | None]
) -> PullFailure | None:
    """None when the image can be pulled with `image_secret` (looked up with `secret`)."""
    if not is_private(image_reference):
        return None
    denied = (
        f'Failed to pull image "{image_reference}": pull access denied, repository does not '
        "exist or may require authorization: "
    )
    if image_secret is None:
        why = "no image_secret is set for this private registry"
        return PullFailure("fetch_image_failed_missing_pull_credentials", denied + why)
    found = secret(image_secret)
    if found is None or found.format != REGISTRY_FORMAT:
        why = f"image_secret '{image_secret}' is no registry secret of this project"
        return PullFailure("fetch_image_failed_missing_pull_secret", denied + why)
    host = registry_host(image_reference)
    server = server_host(found.data.get("server", ""))
    if server != host:
        why = f"registry secret '{image_secret}' holds credentials for '{server}', not '{host}'"
        return PullFailure("fetch_image_failed_wrong_pull_credentials", denied + why)
    return None


def server_host(server: str) -> str:
    """`https://us.icr.io/` -> `us.icr.io` (a registry secret's `server` may carry a scheme)."""
    return server.split("://", 1)[-1].strip("/").split("/")[0]
