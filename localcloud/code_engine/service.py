"""Code Engine v2 across projects and regions: the default project, and those added beside it.

`CodeEngine` is the default project's space (`ProjectSpace`: `cloud.code_engine.secrets.put(...)`
and the rest act on it, id `Identity.project_id`, named `certsync`, in `Identity.region`) and
holds the others: `add_project(name, region=...)` makes one, with its own secrets, config maps,
jobs, job runs, apps, builds, domain mappings, quotas and router; `project_space(id)` finds one.
All share the emulator's clock, entity tags and registered images (`register_image`).

Regions (the real API: `https://api.<region>.codeengine.cloud.ibm.com/v2`, one host per region)
are path prefixes on the cloud's one origin, so one Starlette app and one request log serve them
all, and a path in the log says which region it went to: the default region answers at
`/v2/...` (`api_url`, as before), any other at `/codeengine/<region>/v2/...`
(`api_url_for(region)`, which is also the default region's `/v2` base). The SDK takes the base
URL as its service URL and appends `/projects/...`, so a client needs nothing else.

A region's endpoint serves that region's projects only: `GET /v2/projects` lists them, and a
project of another region reached through it is a 404, like an unknown id (real Code Engine's
answer is not documented; the stricter choice here: the real project lives on another host).
"""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from localcloud.account import Site
from localcloud.code_engine.clock import Clock, EntityTags
from localcloud.code_engine.model import API, PROJECT_NAME
from localcloud.code_engine.project_space import Place, ProjectSpace

REGION_PREFIX = "/codeengine"  # + "/<region>": where a region other than the default answers
REGION = re.compile(r"^[a-z]{2,}(-[a-z]+)+$")  # us-south, eu-de, jp-tok, ...


class CodeEngine(ProjectSpace):
    def __init__(self, site: Site) -> None:
        self.clock = Clock()
        home = site.identity
        place = Place(
            home.project_id, PROJECT_NAME, home.region, lambda: self.base_url_for(home.region)
        )
        now = lambda: self.clock()  # noqa: E731, PLW0108 (looked up at each call: a test may replace it)
        super().__init__(site, place, now=now, tags=EntityTags(), images={})
        self._projects: dict[str, ProjectSpace] = {home.project_id: self}
        self._projects_lock = threading.Lock()
        self._router_host: str | None = None  # set once the routers serve (`start`)

    # -- regions ----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """The default region's API base (`.../v2`)."""
        return f"{self.site.url}{API}"

    def base_url_for(self, region: str) -> str:
        """A region's base URL, without `/v2` (what CE_API_BASE_URL holds)."""
        if region == self.site.identity.region:
            return self.site.url
        return f"{self.site.url}{REGION_PREFIX}/{region}"

    def api_url_for(self, region: str) -> str:
        """A region's API base (`.../v2`), for `CERTSYNC_CODE_ENGINE_URLS` or an SDK's
        `set_service_url`. Any well-formed region answers, with or without projects."""
        if not REGION.match(region):
            raise ValueError(f"Region '{region}' is not a region name like 'eu-de'")
        return f"{self.base_url_for(region)}{API}"

    # -- projects ---------------------------------------------------------------------------
    def add_project(
        self, name: str, *, region: str | None = None, project_id: str | None = None
    ) -> str:
        """A new, empty project `name` in `region` (None: the default region); returns its id
        (`project_id`, else a new UUID). Names are unique per region, as the docs have it
        (`manage-project`: "unique within your resource group, user account, and region")."""
        region = region or self.site.identity.region
        self.api_url_for(region)  # checks the region's name
        new_id = project_id or str(uuid.uuid4())
        place = Place(new_id, name, region, lambda: self.base_url_for(region))
        with self._projects_lock:
            if new_id in self._projects:
                raise ValueError(f"Project '{new_id}' already exists")
            if any(p.place.name == name and p.region == region for p in self._projects.values()):
                raise ValueError(f"A project named '{name}' already exists in {region}")
            space = ProjectSpace(
                self.site, place, now=self._now, tags=self.tags, images=self.images
            )
            self._projects[new_id] = space
            host = self._router_host
        if host is not None:
            space.router.start(host)
        return new_id

    def project_space(self, project_id: str) -> ProjectSpace:
        """The project `project_id` (KeyError: there is none); the default one is `self`."""
        with self._projects_lock:
            return self._projects[project_id]

    def project_in(self, region: str, project_id: str) -> ProjectSpace | None:
        """The project as `region`'s endpoint sees it: None when unknown or in another region."""
        with self._projects_lock:
            found = self._projects.get(project_id)
        return found if found is not None and found.region == region else None

    def projects_in(self, region: str) -> list[ProjectSpace]:
        with self._projects_lock:
            return [p for p in self._projects.values() if p.region == region]

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, host: str) -> None:
        """Start every project's router on `host` (and, from now on, each added project's)."""
        with self._projects_lock:
            self._router_host = host
            spaces = list(self._projects.values())
        for space in spaces:
            space.router.start(host)

    def shutdown(self) -> None:
        """Every project's shutdown (`ProjectSpace.shutdown`), side by side: each waits for its
        router's serve loop to notice (up to its 0.05 s poll), which a hundred projects in turn
        make seconds."""
        with self._projects_lock:
            spaces = list(self._projects.values())
            self._router_host = None
        with ThreadPoolExecutor(max_workers=16, thread_name_prefix="localcloud-stop") as pool:
            list(pool.map(ProjectSpace.shutdown, spaces))
