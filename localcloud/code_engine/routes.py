"""Code Engine v2's HTTP API under `/v2/projects/...`.

Status codes as the SDK examples assert: create secret/config map/job/app/build/domain mapping 201,
create job run and build run 202, get/replace/update 200, delete 202 (no body). Secret, config map,
job, app, build and domain mapping bodies come with an `ETag` header equal to their `entity_tag`.
App revisions cannot be deleted here (405; the SDK's `delete_app_revision` is not emulated).
Every call needs a valid `version`; an unknown project is a 404, a malformed project id a 400.
Each region answers at its own base (`service.py`): `/v2` for the default region,
`/codeengine/<region>/v2` for any other; a region's endpoint serves its own projects only.
Create job, update job and create job run pass the request body's size in bytes on, for the
10 KiB limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from localcloud.code_engine.checks import PROJECT_ID, check_version, invalid, not_found
from localcloud.code_engine.model import API
from localcloud.code_engine.paging import page_params, paginate
from localcloud.code_engine.project_space import ProjectSpace
from localcloud.code_engine.secret_data import check_format_filter
from localcloud.code_engine.service import REGION, REGION_PREFIX, CodeEngine
from localcloud.http import JSON, json_response, read_json_object

Endpoint = Callable[[Request], Awaitable[Response]]
InProject = Callable[[Request, ProjectSpace], Awaitable[Response]]
InRegion = Callable[[Request, str], Awaitable[Response]]
MERGE_PATCH = "application/merge-patch+json"


def routes(ce: CodeEngine) -> list[BaseRoute]:
    """The default region's API at `/v2`, and every other region's under
    `/codeengine/{region}/v2` (`service.py`): the same routes, mounted."""
    api = _Api(ce)
    regional = _routes(api)
    return [*regional, Mount(f"{REGION_PREFIX}/{{region}}", routes=regional)]


def _routes(api: _Api) -> list[BaseRoute]:
    base = f"{API}/projects/{{project_id}}"
    return [
        Route(f"{API}/projects", api.in_region(api.list_projects), methods=["GET"]),
        Route(base, api.guard(api.get_project), methods=["GET"]),
        Route(f"{base}/secrets", api.guard(api.secrets), methods=["GET", "POST"]),
        Route(f"{base}/secrets/{{name}}", api.guard(api.secret), methods=["GET", "PUT", "DELETE"]),
        Route(f"{base}/config_maps", api.guard(api.config_maps), methods=["GET", "POST"]),
        Route(
            f"{base}/config_maps/{{name}}",
            api.guard(api.config_map),
            methods=["GET", "PUT", "DELETE"],
        ),
        Route(f"{base}/jobs", api.guard(api.jobs), methods=["GET", "POST"]),
        Route(f"{base}/jobs/{{name}}", api.guard(api.job), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{base}/job_runs", api.guard(api.job_runs), methods=["GET", "POST"]),
        Route(f"{base}/job_runs/{{name}}", api.guard(api.job_run), methods=["GET", "DELETE"]),
        Route(f"{base}/apps", api.guard(api.apps), methods=["GET", "POST"]),
        Route(f"{base}/apps/{{name}}", api.guard(api.app), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{base}/apps/{{app}}/revisions", api.guard(api.revisions), methods=["GET"]),
        Route(f"{base}/apps/{{app}}/revisions/{{name}}", api.guard(api.revision), methods=["GET"]),
        Route(f"{base}/apps/{{app}}/instances", api.guard(api.instances), methods=["GET"]),
        Route(f"{base}/builds", api.guard(api.builds), methods=["GET", "POST"]),
        Route(f"{base}/builds/{{name}}", api.guard(api.build), methods=["GET", "PATCH", "DELETE"]),
        Route(f"{base}/build_runs", api.guard(api.build_runs), methods=["GET", "POST"]),
        Route(f"{base}/build_runs/{{name}}", api.guard(api.build_run), methods=["GET", "DELETE"]),
        Route(f"{base}/domain_mappings", api.guard(api.domain_mappings), methods=["GET", "POST"]),
        Route(
            f"{base}/domain_mappings/{{name}}",
            api.guard(api.domain_mapping),
            methods=["GET", "PATCH", "DELETE"],
        ),
    ]


def _tagged(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status, {"ETag": str(body["entity_tag"])})


def _accepted() -> Response:
    return Response(status_code=202)


async def _read(request: Request, media_type: str = JSON) -> tuple[dict[str, Any], int]:
    """The JSON object body and its size in bytes."""
    body = await read_json_object(request, media_type)
    return body, len(await request.body())  # Starlette caches the body: no second read


class _Api:
    def __init__(self, ce: CodeEngine) -> None:
        self.ce = ce

    def region(self, request: Request) -> str:
        """The region whose endpoint `request` reached: the path's, else the default one. A
        prefix that is no region's name is a 404 (for real, no such host)."""
        region: str = request.path_params.get("region") or self.ce.site.identity.region
        if not REGION.match(region):
            raise not_found("Region", region[:64])
        return region

    def guard(self, handler: InProject) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            check_version(request)
            return await handler(request, self._space(request))

        return endpoint

    def in_region(self, handler: InRegion) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            check_version(request)
            return await handler(request, self.region(request))

        return endpoint

    def _space(self, request: Request) -> ProjectSpace:
        """The project of the path, as this region's endpoint sees it: a malformed id is a 400;
        an unknown one, or one of another region, a 404 (`service.py`)."""
        project_id = request.path_params["project_id"]
        if not PROJECT_ID.match(project_id):
            raise invalid(f"Invalid project id '{project_id[:64]}'")
        space = self.ce.project_in(self.region(request), project_id)
        if space is None:
            raise not_found("Project", project_id)
        return space

    def _list(self, request: Request, key: str, items: list[dict[str, Any]], href: str,
              filters: dict[str, str]) -> Response:  # fmt: skip
        """A page of `items` under `key`; `href` is the collection's (`Project.href`)."""
        window = page_params(request)
        return json_response(
            paginate(items, key=key, window=window, base_href=href, filters=filters)
        )

    # -- projects ---------------------------------------------------------------------------
    async def list_projects(self, request: Request, region: str) -> Response:
        projects = [space.project().to_dict() for space in self.ce.projects_in(region)]
        href = f"{self.ce.api_url_for(region)}/projects"
        window = page_params(request)
        return json_response(paginate(projects, key="projects", window=window, base_href=href))

    async def get_project(self, request: Request, ce: ProjectSpace) -> Response:
        return json_response(ce.project().to_dict())

    # -- secrets ----------------------------------------------------------------------------
    async def secrets(self, request: Request, ce: ProjectSpace) -> Response:
        if request.method == "POST":
            return _tagged(ce.secrets.create(await read_json_object(request)), 201)
        fmt = request.query_params.get("format")
        filters = {} if fmt is None else {"format": check_format_filter(fmt)}
        return self._list(
            request, "secrets", ce.secrets.list(fmt), ce.project().href("secrets"), filters
        )

    async def secret(self, request: Request, ce: ProjectSpace) -> Response:
        name, secrets = request.path_params["name"], ce.secrets
        if request.method == "DELETE":
            secrets.delete(name)
            return _accepted()
        if request.method == "PUT":
            body = await read_json_object(request)
            return _tagged(secrets.replace(name, request.headers.get("if-match"), body))
        return _tagged(secrets.get(name))

    # -- config maps ------------------------------------------------------------------------
    async def config_maps(self, request: Request, ce: ProjectSpace) -> Response:
        maps = ce.config_maps
        if request.method == "POST":
            return _tagged(maps.create(await read_json_object(request)), 201)
        return self._list(request, "config_maps", maps.list(), ce.project().href("config_maps"), {})

    async def config_map(self, request: Request, ce: ProjectSpace) -> Response:
        name, maps = request.path_params["name"], ce.config_maps
        if request.method == "DELETE":
            maps.delete(name)
            return _accepted()
        if request.method == "PUT":
            body = await read_json_object(request)
            return _tagged(maps.replace(name, request.headers.get("if-match"), body))
        return _tagged(maps.get(name))

    # -- jobs -------------------------------------------------------------------------------
    async def jobs(self, request: Request, ce: ProjectSpace) -> Response:
        if request.method == "POST":
            body, size = await _read(request)
            return _tagged(ce.jobs.create(body, size=size), 201)
        return self._list(request, "jobs", ce.jobs.list(), ce.project().href("jobs"), {})

    async def job(self, request: Request, ce: ProjectSpace) -> Response:
        name, jobs = request.path_params["name"], ce.jobs
        if request.method == "DELETE":
            jobs.delete(name)
            return _accepted()
        if request.method == "PATCH":
            patch, size = await _read(request, MERGE_PATCH)
            return _tagged(jobs.update(name, request.headers.get("if-match"), patch, size=size))
        return _tagged(jobs.get(name))

    # -- job runs ---------------------------------------------------------------------------
    async def job_runs(self, request: Request, ce: ProjectSpace) -> Response:
        if request.method == "POST":
            body, size = await _read(request)
            return json_response(ce.job_runs.create(body, size=size), 202)
        job_name = request.query_params.get("job_name")
        filters = {} if job_name is None else {"job_name": job_name}
        items = ce.job_runs.list(job_name)
        return self._list(request, "job_runs", items, ce.project().href("job_runs"), filters)

    async def job_run(self, request: Request, ce: ProjectSpace) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            ce.job_runs.delete(name)
            return _accepted()
        return json_response(ce.job_runs.get(name))

    # -- apps -------------------------------------------------------------------------------
    async def apps(self, request: Request, ce: ProjectSpace) -> Response:
        if request.method == "POST":
            return _tagged(ce.apps.create(await read_json_object(request)), 201)
        return self._list(request, "apps", ce.apps.list(), ce.project().href("apps"), {})

    async def app(self, request: Request, ce: ProjectSpace) -> Response:
        name, apps = request.path_params["name"], ce.apps
        if request.method == "DELETE":
            apps.delete(name)
            return _accepted()
        if request.method == "PATCH":
            patch = await read_json_object(request, MERGE_PATCH)
            return _tagged(apps.update(name, request.headers.get("if-match"), patch))
        return _tagged(apps.get(name))

    async def revisions(self, request: Request, ce: ProjectSpace) -> Response:
        app = request.path_params["app"]
        items = ce.apps.revisions(app)
        return self._list(
            request, "revisions", items, ce.project().href(f"apps/{app}/revisions"), {}
        )

    async def revision(self, request: Request, ce: ProjectSpace) -> Response:
        params = request.path_params
        return json_response(ce.apps.revision(params["app"], params["name"]))

    async def instances(self, request: Request, ce: ProjectSpace) -> Response:
        app = request.path_params["app"]
        items = ce.apps.instances(app)
        return self._list(
            request, "instances", items, ce.project().href(f"apps/{app}/instances"), {}
        )

    # -- builds -----------------------------------------------------------------------------
    async def builds(self, request: Request, ce: ProjectSpace) -> Response:
        if request.method == "POST":
            return _tagged(ce.builds.create(await read_json_object(request)), 201)
        return self._list(request, "builds", ce.builds.list(), ce.project().href("builds"), {})

    async def build(self, request: Request, ce: ProjectSpace) -> Response:
        name, builds = request.path_params["name"], ce.builds
        if request.method == "DELETE":
            builds.delete(name)
            return _accepted()
        if request.method == "PATCH":
            patch = await read_json_object(request, MERGE_PATCH)
            return _tagged(builds.update(name, request.headers.get("if-match"), patch))
        return _tagged(builds.get(name))

    async def build_runs(self, request: Request, ce: ProjectSpace) -> Response:
        builds = ce.builds
        if request.method == "POST":
            return json_response(builds.create_run(await read_json_object(request)), 202)
        build_name = request.query_params.get("build_name")
        filters = {} if build_name is None else {"build_name": build_name}
        return self._list(
            request, "build_runs", builds.list_runs(build_name), "build_runs", filters
        )

    async def build_run(self, request: Request, ce: ProjectSpace) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            ce.builds.delete_run(name)
            return _accepted()
        return json_response(ce.builds.get_run(name))

    # -- domain mappings --------------------------------------------------------------------
    async def domain_mappings(self, request: Request, ce: ProjectSpace) -> Response:
        mappings = ce.domain_mappings
        if request.method == "POST":
            return _tagged(mappings.create(await read_json_object(request)), 201)
        return self._list(
            request, "domain_mappings", mappings.list(), ce.project().href("domain_mappings"), {}
        )

    async def domain_mapping(self, request: Request, ce: ProjectSpace) -> Response:
        name, mappings = request.path_params["name"], ce.domain_mappings
        if request.method == "DELETE":
            mappings.delete(name)
            return _accepted()
        if request.method == "PATCH":
            patch = await read_json_object(request, MERGE_PATCH)
            return _tagged(mappings.update(name, request.headers.get("if-match"), patch))
        return _tagged(mappings.get(name))
