"""What a project's collections share, and how one is added.

Every collection of a project (secrets, config maps, jobs, job runs, apps, builds, domain
mappings) is a class in its own module, built from the project's `Scope` and whatever else it
needs. It has the API's verbs (`create`, `get`, `list`, `replace` or `update`, `delete`), taking
the request's JSON and returning the response's, plus its own control plane for tests and the
demo (`Secrets.put`, `Apps.seed`, `JobRuns.wait`, ...). `ProjectSpace` holds each as an
attribute named after the API's path segment (`space.config_maps`), and `routes.py` calls
`space.<collection>.<verb>`. Adding a collection is: a module with such a class, an attribute on
`ProjectSpace`, its routes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from localcloud.code_engine.clock import EntityTags
from localcloud.code_engine.cr_tokens import TokenFiles
from localcloud.code_engine.model import Project
from localcloud.code_engine.plan import ConfigMapLookup, SecretLookup
from localcloud.code_engine.runner import Image


@dataclass(frozen=True)
class Scope:
    """The project's lock (callers of a collection hold none; every method takes it), the
    project as the API shows it, the emulator's clock and the entity tags."""

    lock: threading.RLock
    project: Callable[[], Project]
    now: Callable[[], dt.datetime]
    tags: EntityTags


@dataclass(frozen=True)
class Runtime:
    """What a project's workloads (job runs, apps) start with: the registry's images, where env
    references and pull secrets find secrets and config maps, the files that hold compute-resource
    tokens, and IAM's issuer of such a token (`issue_token(component_type, name)`)."""

    images: Mapping[str, Image]
    secret: SecretLookup
    config_map: ConfigMapLookup
    tokens: TokenFiles
    issue_token: Callable[[str, str], str]

    @property
    def lookups(self) -> tuple[SecretLookup, ConfigMapLookup]:
        return self.secret, self.config_map
