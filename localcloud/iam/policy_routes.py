"""IAM Policy Management v1 over HTTP, as the SDK's `IamPolicyManagementV1` calls it:
`POST /v1/policies` (201), `GET /v1/policies` (`PolicyCollection`), `GET /v1/policies/{id}`,
`PUT /v1/policies/{id}` with `If-Match` (200), `DELETE /v1/policies/{id}` (204), and
`GET /v2/roles` (`list_roles`, `roles.collection`). Each answer
carrying a policy carries its `ETag` ("The Etag can be retrieved using the GET
/v1/policies/{policy_id} API and looking at the ETag response header", `replace_policy`).

`list_policies` pages with `limit` (1 to 100, default 50) and `start`, a token the previous page
gives in `next.start` (the SDK's `PoliciesPager` reads it there); filters `iam_id`, `type`,
`service_type` (`service` or `platform_service`) and `state` (`active`, the default; `deleted`
lists nothing here, deleted policies are not kept). `format` and `sort` are accepted and ignored.
Unknown for real: the default `limit` (50 here).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import BadRequest, json_response, read_json_object
from localcloud.iam import roles
from localcloud.iam.errors import PolicyError
from localcloud.iam.policies import Policy, invalid
from localcloud.iam.service import Iam

Handler = Callable[[Request], Awaitable[Response]]


def _answers_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except PolicyError as exc:
            return exc.response()
        except BadRequest as exc:
            return PolicyError(exc.status, "invalid_body", exc.message).response()

    return wrapped


def routes(iam: Iam) -> list[BaseRoute]:
    api = _Api(iam)
    return [
        Route("/v1/policies", _answers_errors(api.policies), methods=["GET", "POST"]),
        Route(
            "/v1/policies/{policy_id}",
            _answers_errors(api.policy),
            methods=["GET", "PUT", "DELETE"],
        ),
        Route("/v2/roles", _answers_errors(api.roles), methods=["GET"]),
    ]


class _Api:
    def __init__(self, iam: Iam) -> None:
        self.iam = iam

    async def policies(self, request: Request) -> Response:
        if request.method == "POST":
            body = await read_json_object(request)
            created = self.iam.policies.create(body, self._caller(request))
            return self._one(request, created, 201)
        return json_response(self._page(request))

    async def policy(self, request: Request) -> Response:
        policy_id = request.path_params["policy_id"]
        if request.method == "GET":
            return self._one(request, self.iam.policies.get(policy_id))
        if request.method == "DELETE":
            self.iam.policies.delete(policy_id)
            return Response(status_code=204)
        if_match = request.headers.get("if-match", "")
        if not if_match:
            raise invalid("The If-Match header is required")
        body = await read_json_object(request)
        replaced = self.iam.policies.replace(policy_id, if_match, body, self._caller(request))
        return self._one(request, replaced)

    async def roles(self, request: Request) -> Response:
        """`list_roles`: `service_name` and `service_group_id` exclude each other (docstring)."""
        query = request.query_params
        if "service_name" in query and "service_group_id" in query:
            raise invalid("service_name and service_group_id are mutually exclusive")
        return json_response(roles.collection(query.get("service_name")))

    def _caller(self, request: Request) -> str:
        return self.iam.caller(request.headers.get("authorization")) or ""

    def _one(self, request: Request, policy: Policy, status: int = 200) -> Response:
        return json_response(policy.to_json(_base(request)), status, {"ETag": policy.etag})

    def _page(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        if not query.get("account_id"):
            raise invalid("The account_id query parameter is required")
        limit = _limit(query.get("limit", "50"))
        state = query.get("state", "active")
        if state not in ("active", "deleted"):
            raise invalid("state must be active or deleted")
        filters = {
            k: query[k] for k in ("account_id", "iam_id", "type", "service_type") if k in query
        }
        chosen = self.iam.policies.listing(filters) if state == "active" else []
        offset = _offset(query.get("start"))
        base = _base(request) + "/v1/policies?"
        keep = {k: v for k, v in query.items() if k != "start"}
        body: dict[str, Any] = {
            "limit": limit,
            "first": {"href": base + urlencode(keep)},
            "policies": [p.to_json(_base(request)) for p in chosen[offset : offset + limit]],
        }
        if offset + limit < len(chosen):
            start = _token(offset + limit)
            body["next"] = {"href": base + urlencode({**keep, "start": start}), "start": start}
        if offset > 0:
            start = _token(max(offset - limit, 0))
            body["previous"] = {"href": base + urlencode({**keep, "start": start}), "start": start}
        return body


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        raise invalid("limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise invalid("limit must be between 1 and 100")
    return limit


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"policies:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "policies" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise PolicyError(400, "invalid_parameter", "start is not a valid page token")
