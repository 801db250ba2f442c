"""Secrets Manager v2's HTTP API under `/api/v2/`, as the SDK's `SecretsManagerV2` calls it:
secret groups, secrets and versions here, the notifications registration in
`notifications_routes.py`, and the emulator's control plane in `control_routes.py`."""

from __future__ import annotations

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import BadRequest, json_response, read_json_object
from localcloud.secrets_manager import validate
from localcloud.secrets_manager.control_routes import control_routes
from localcloud.secrets_manager.model import (
    ALL_TYPES,
    now,
    secret_full,
    secret_metadata,
    version_full,
    version_metadata,
)
from localcloud.secrets_manager.notifications_routes import notifications_routes
from localcloud.secrets_manager.query import page, parse_list_query, select
from localcloud.secrets_manager.service import SecretsManager
from localcloud.secrets_manager.store import not_found

API = "/api/v2"


def routes(sm: SecretsManager) -> list[BaseRoute]:
    api = _Api(sm)
    secret = f"{API}/secrets/{{id}}"
    by_name = f"{API}/secret_groups/{{group}}/secret_types/{{secret_type}}/secrets/{{name}}"
    return [
        Route(f"{API}/secret_groups", api.groups, methods=["GET", "POST"]),
        Route(f"{API}/secret_groups/{{id}}", api.group, methods=["GET"]),
        Route(by_name, api.by_name, methods=["GET"]),
        Route(f"{API}/secrets", api.secrets, methods=["GET", "POST"]),
        Route(secret, api.secret, methods=["GET", "DELETE"]),
        Route(f"{secret}/metadata", api.metadata, methods=["GET"]),
        Route(f"{secret}/versions", api.versions, methods=["GET", "POST"]),
        Route(f"{secret}/versions/{{vid}}", api.version, methods=["GET"]),
        Route(f"{secret}/versions/{{vid}}/metadata", api.version_metadata, methods=["GET"]),
        *notifications_routes(sm.notifications),
        *control_routes(sm),
    ]


def _caller(request: Request) -> str:
    """The IAM id in the (already verified) bearer token."""
    token = request.headers.get("authorization", "").partition(" ")[2]
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("iam_id") or claims.get("sub") or "unknown")


class _Api:
    def __init__(self, sm: SecretsManager) -> None:
        self.sm = sm
        self.store = sm.store

    # -- secret groups ------------------------------------------------------------------------
    async def groups(self, request: Request) -> Response:
        if request.method == "GET":
            groups = [g.to_dict() for g in self.store.group_list()]
            return json_response({"secret_groups": groups, "total_count": len(groups)})
        body = await read_json_object(request)
        validate.reject_unknown(body, frozenset({"name", "description"}))
        name = validate.name(body.get("name"), "secret group name", 64)
        group = self.store.create_group(
            name, validate.description(body.get("description")), _caller(request)
        )
        return json_response(group.to_dict(), 201)

    async def group(self, request: Request) -> Response:
        return json_response(self.store.group(request.path_params["id"]).to_dict())

    # -- secrets ------------------------------------------------------------------------------
    async def secrets(self, request: Request) -> Response:
        if request.method == "POST":
            secret = self.sm.create(await read_json_object(request), _caller(request))
            return json_response(secret_full(secret, now()), 201)
        query = parse_list_query(request.query_params)
        chosen = select(self.store.all(), query)
        at = now()
        body = page(str(request.base_url).rstrip("/") + f"{API}/secrets", query, len(chosen))
        window = chosen[query.offset : query.offset + query.limit]
        body["secrets"] = [secret_metadata(s, at) for s in window]
        return json_response(body)

    async def secret(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        if request.method == "DELETE":
            self.store.delete(secret.id)
            return Response(status_code=204)
        self.store.mark_downloaded(secret, secret.current)
        return json_response(secret_full(secret, now()))

    async def metadata(self, request: Request) -> Response:
        return json_response(secret_metadata(self.store.secret(request.path_params["id"]), now()))

    async def by_name(self, request: Request) -> Response:
        params = request.path_params
        if params["secret_type"] not in ALL_TYPES:
            raise BadRequest(f"Invalid secret_type '{params['secret_type']}': unknown secret type")
        secret = self.store.by_name(params["group"], params["secret_type"], params["name"])
        self.store.mark_downloaded(secret, secret.current)
        return json_response(secret_full(secret, now()))

    # -- versions -----------------------------------------------------------------------------
    async def versions(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        if request.method == "GET":
            versions = [version_metadata(secret, v) for v in reversed(secret.versions)]
            return json_response({"versions": versions, "total_count": len(versions)})
        body = await read_json_object(request)
        version = self.sm.create_version(secret, body, _caller(request))
        return json_response(version_full(secret, version), 201)

    async def version(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        version = self.store.version(secret, request.path_params["vid"])
        if not secret.payload_available(version):
            # Only current and previous keep their data; the real answer for older ones is
            # undocumented, 404 is the stricter choice.
            raise not_found("secret version data", version.id)
        self.store.mark_downloaded(secret, version)
        return json_response(version_full(secret, version))

    async def version_metadata(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        version = self.store.version(secret, request.path_params["vid"])
        return json_response(version_metadata(secret, version))
