"""Code Engine v2's HTTP API under `/v2/projects/...`.

Status codes as the SDK examples assert: create secret/config map/job/domain mapping 201, create
job run 202, get/replace/update 200, delete 202 (no body). Secret, config map, job and domain
mapping bodies come with an `ETag` header equal to their `entity_tag`. Every call needs a valid
`version`; an unknown project is a 404, a malformed project id a 400. Create job, update job and
create job run pass the request body's size in bytes on, for the 10 KiB limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.code_engine.checks import PROJECT_ID, check_version, invalid, not_found
from localcloud.code_engine.model import API
from localcloud.code_engine.paging import page_params, paginate
from localcloud.code_engine.secret_data import check_format_filter
from localcloud.code_engine.service import CodeEngine
from localcloud.http import JSON, json_response, read_json_object

Endpoint = Callable[[Request], Awaitable[Response]]
MERGE_PATCH = "application/merge-patch+json"


def routes(ce: CodeEngine) -> list[BaseRoute]:
    api = _Api(ce)
    base = f"{API}/projects/{{project_id}}"
    return [
        Route(f"{API}/projects", api.guard(api.list_projects, project=False), methods=["GET"]),
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

    def guard(self, handler: Endpoint, *, project: bool = True) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            check_version(request)
            if project:
                self._check_project(request.path_params["project_id"])
            return await handler(request)

        return endpoint

    def _check_project(self, project_id: str) -> None:
        if not PROJECT_ID.match(project_id):
            raise invalid(f"Invalid project id '{project_id[:64]}'")
        if project_id != self.ce.site.identity.project_id:
            raise not_found("Project", project_id)

    def _list(self, request: Request, key: str, items: list[dict[str, Any]], collection: str,
              filters: dict[str, str]) -> Response:  # fmt: skip
        limit, after = page_params(request)
        project = self.ce.project()
        href = project.href(collection) if collection else f"{self.ce.api_url}/projects"
        return json_response(
            paginate(items, key=key, limit=limit, after=after, base_href=href, filters=filters)
        )

    # -- projects ---------------------------------------------------------------------------
    async def list_projects(self, request: Request) -> Response:
        return self._list(request, "projects", [self.ce.project().to_dict()], "", {})

    async def get_project(self, request: Request) -> Response:
        return json_response(self.ce.project().to_dict())

    # -- secrets ----------------------------------------------------------------------------
    async def secrets(self, request: Request) -> Response:
        if request.method == "POST":
            return _tagged(self.ce.create_secret(await read_json_object(request)), 201)
        fmt = request.query_params.get("format")
        filters = {} if fmt is None else {"format": check_format_filter(fmt)}
        return self._list(request, "secrets", self.ce.list_secrets(fmt), "secrets", filters)

    async def secret(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            self.ce.delete_secret(name)
            return _accepted()
        if request.method == "PUT":
            body = await read_json_object(request)
            return _tagged(self.ce.replace_secret(name, request.headers.get("if-match"), body))
        return _tagged(self.ce.get_secret(name))

    # -- config maps ------------------------------------------------------------------------
    async def config_maps(self, request: Request) -> Response:
        maps = self.ce.config_maps
        if request.method == "POST":
            return _tagged(maps.create(await read_json_object(request)), 201)
        return self._list(request, "config_maps", maps.list(), "config_maps", {})

    async def config_map(self, request: Request) -> Response:
        name, maps = request.path_params["name"], self.ce.config_maps
        if request.method == "DELETE":
            maps.delete(name)
            return _accepted()
        if request.method == "PUT":
            body = await read_json_object(request)
            return _tagged(maps.replace(name, request.headers.get("if-match"), body))
        return _tagged(maps.get(name))

    # -- jobs -------------------------------------------------------------------------------
    async def jobs(self, request: Request) -> Response:
        if request.method == "POST":
            body, size = await _read(request)
            return _tagged(self.ce.create_job(body, size=size), 201)
        return self._list(request, "jobs", self.ce.list_jobs(), "jobs", {})

    async def job(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            self.ce.delete_job(name)
            return _accepted()
        if request.method == "PATCH":
            patch, size = await _read(request, MERGE_PATCH)
            return _tagged(
                self.ce.update_job(name, request.headers.get("if-match"), patch, size=size)
            )
        return _tagged(self.ce.get_job(name))

    # -- job runs ---------------------------------------------------------------------------
    async def job_runs(self, request: Request) -> Response:
        if request.method == "POST":
            body, size = await _read(request)
            return json_response(self.ce.create_job_run(body, size=size), 202)
        job_name = request.query_params.get("job_name")
        filters = {} if job_name is None else {"job_name": job_name}
        items = self.ce.list_job_runs(job_name)
        return self._list(request, "job_runs", items, "job_runs", filters)

    async def job_run(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "DELETE":
            self.ce.delete_job_run(name)
            return _accepted()
        return json_response(self.ce.get_job_run(name))

    # -- domain mappings --------------------------------------------------------------------
    async def domain_mappings(self, request: Request) -> Response:
        mappings = self.ce.domain_mappings
        if request.method == "POST":
            return _tagged(mappings.create(await read_json_object(request)), 201)
        return self._list(request, "domain_mappings", mappings.list(), "domain_mappings", {})

    async def domain_mapping(self, request: Request) -> Response:
        name, mappings = request.path_params["name"], self.ce.domain_mappings
        if request.method == "DELETE":
            mappings.delete(name)
            return _accepted()
        if request.method == "PATCH":
            patch = await read_json_object(request, MERGE_PATCH)
            return _tagged(mappings.update(name, request.headers.get("if-match"), patch))
        return _tagged(mappings.get(name))
