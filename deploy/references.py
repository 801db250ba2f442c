"""What certsync.yaml points at, checked with the user's key before `plan` promises anything.

Each mapping's secret must exist in the configured Secrets Manager instance and be a certificate
(`imported_cert`, `public_cert` or `private_cert`, the types the job syncs). A secret *name*
written where its id belongs is looked up by name and its id suggested; a secret CRN of another
instance or region is named as such. (The instances themselves are looked up in the Resource
Controller first: `deploy/instances.py`.) `mapping_problems` is the rule, pure; `check` reads
Secrets Manager for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.crn import parse_crn
from shared.errors import CertsyncError, NotFoundError, PermanentError
from shared.events import CERTIFICATE_TYPES, secret_id_from_ref

if TYPE_CHECKING:
    from deploy.clients import Clients

# Secrets Manager v2 secret ids are UUIDs (the API's `id` path parameter); anything else written
# as a mapping's `secret` is probably the secret's name.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ReferenceProblems(CertsyncError):
    """certsync.yaml points at something that is missing or of the wrong kind; one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Looked:
    """What Secrets Manager said about one mapping's secret."""

    ref: str  # as written in certsync.yaml
    metadata: dict[str, Any] | None  # the secret's metadata by id; None: no such id
    by_name: tuple[dict[str, Any], ...] = ()  # secrets named `ref` (looked for when no id matched)


def mapping_problems(looked: Sequence[Looked], instance_crn: str) -> dict[int, str]:
    """Mapping index -> its problem, for each mapping whose secret is not a certificate of the
    instance `instance_crn`. Pure."""
    problems = {}
    for index, item in enumerate(looked):
        problem = _problem(item, instance_crn)
        if problem:
            problems[index] = f"'mappings[{index}].secret' ({item.ref}): {problem}"
    return problems


def _problem(item: Looked, instance_crn: str) -> str | None:
    elsewhere = _other_instance(item.ref, instance_crn)
    if elsewhere:
        return elsewhere
    if item.metadata is None:
        if len(item.by_name) == 1:
            found = item.by_name[0]
            return (
                f"that is the name of a secret, not its id: write its id, "
                f"'{found.get('id')}' ({found.get('secret_type')} in group "
                f"'{found.get('secret_group_id')}')"
            )
        if item.by_name:
            ids = ", ".join(f"'{s.get('id')}' ({s.get('secret_type')})" for s in item.by_name)
            return f"that is the name of {len(item.by_name)} secrets, not an id: write one of {ids}"
        return "no such secret in the Secrets Manager instance (secrets_manager.instance_id)"
    kind = str(item.metadata.get("secret_type") or "")
    if kind not in CERTIFICATE_TYPES:
        return (
            f"secret '{item.metadata.get('name')}' is of type '{kind}', not a certificate "
            f"({', '.join(CERTIFICATE_TYPES)})"
        )
    return None


def _other_instance(ref: str, instance_crn: str) -> str | None:
    """A secret CRN naming another instance (or the same instance in another region)."""
    crn, ours = parse_crn(ref), parse_crn(instance_crn)
    if crn is None or ours is None or not ref.startswith("crn:"):
        return None
    if crn.service_instance != ours.service_instance:
        return (
            f"that CRN names a secret of Secrets Manager instance '{crn.service_instance}', not "
            f"of '{ours.service_instance}' (secrets_manager.instance_id)"
        )
    if crn.location != ours.location:
        return f"that CRN says region '{crn.location}', but the instance is in '{ours.location}'"
    return None


def check(clients: Clients, refs: Sequence[str], instance_crn: str) -> dict[int, str]:
    """Mapping index -> its problem, for every mapping whose secret (`refs`: each mapping's
    `secret` as written) is missing, not a certificate, or of another instance (read with the
    user's key)."""
    looked = [_look(clients, ref) for ref in refs]
    return mapping_problems(looked, instance_crn)


def _look(clients: Clients, ref: str) -> Looked:
    secret_id = secret_id_from_ref(ref)
    if _UUID.match(secret_id):
        try:
            metadata = clients.call(
                lambda: clients.secrets_manager.get_secret_metadata(id=secret_id),
                f"get Secrets Manager secret '{secret_id}'",
            )
            return Looked(ref, metadata)
        except NotFoundError:
            pass  # perhaps a name that looks like an id: looked up by name below
        except PermanentError as exc:
            if exc.status != 400:  # 400: an id Secrets Manager finds malformed; 403: the key's
                raise
    return Looked(ref, None, tuple(_named(clients, secret_id)))


def _named(clients: Clients, name: str) -> list[dict[str, Any]]:
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

    pager = SecretsPager(client=clients.secrets_manager, search=name, limit=200)
    found = clients.pages(pager, f"search Secrets Manager for a secret named '{name}'")
    return [s for s in found if s.get("name") == name]
