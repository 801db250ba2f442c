"""The IAM Identity API's trusted-profile, link and API-key-details operations over HTTP, as the
SDK's `ibm_platform_services.IamIdentityV1` calls them (paths, methods and parameters from its
`create_profile`, `list_profiles`, `get_profile`, `update_profile`, `delete_profile`,
`create_link`, `list_links`, `get_link`, `delete_link`, `get_api_keys_details`).

Statuses: 201 on create, 200 on read and update, 204 on delete; errors in IAM Identity's
`ExceptionResponse` (`errors.py`). `list_profiles` pages with `pagesize` (default 20, 1 to 100)
and an opaque `pagetoken`; `first` and `next` are links to pages, and `next` is absent on the last
page ("If 'next' property is not part of the response no next page is available",
`TrustedProfilesList`). `get_api_keys_details` reads the key from the `IAM-ApiKey` header.

Unknown for real, so the stricter choice is made here: an unknown key in `IAM-ApiKey` answers
404; the key's own value is never echoed (`apikey` is answered empty, "All other operations don't
return the API key value", `ApiKey`); an unknown `sort` field or `order` is a 400.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import BadRequest, json_response, read_json_object
from localcloud.iam.errors import IdentityError, invalid
from localcloud.iam.profiles import Profile
from localcloud.iam.service import Iam

Handler = Callable[[Request], Awaitable[Response]]
SORTS = ("name", "description", "created_at", "modified_at")


def _answers_errors(operation: str, handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except IdentityError as exc:
            return exc.response(operation)
        except BadRequest as exc:  # a body that is not a JSON object
            return IdentityError(exc.status, exc.code, "BXNIM0109E", exc.message).response(
                operation
            )

    return wrapped


def routes(iam: Iam) -> list[BaseRoute]:
    api = _Api(iam)
    profile = "/v1/profiles/{profile_id}"
    return [
        Route("/v1/profiles", _answers_errors("profiles", api.profiles), methods=["GET", "POST"]),
        Route(profile, _answers_errors("profile", api.profile), methods=["GET", "PUT", "DELETE"]),
        Route(f"{profile}/links", _answers_errors("links", api.links), methods=["GET", "POST"]),
        Route(
            f"{profile}/links/{{link_id}}",
            _answers_errors("link", api.link),
            methods=["GET", "DELETE"],
        ),
        Route("/v1/apikeys/details", _answers_errors("apikey", api.apikey), methods=["GET"]),
    ]


class _Api:
    def __init__(self, iam: Iam) -> None:
        self.iam = iam

    async def profiles(self, request: Request) -> Response:
        if request.method == "POST":
            body = await read_json_object(request)
            name, account_id = body.get("name"), body.get("account_id")
            if not isinstance(account_id, str) or not account_id:
                raise invalid("Property missing or empty: account_id")
            description = body.get("description")
            created = self.iam.profiles.create(
                str(name or ""), account_id, description if isinstance(description, str) else None
            )
            return json_response(created.to_json(), 201)
        return json_response(self._page(request))

    async def profile(self, request: Request) -> Response:
        profile_id = request.path_params["profile_id"]
        if request.method == "GET":
            return json_response(self.iam.profiles.get(profile_id).to_json())
        if request.method == "DELETE":
            self.iam.profiles.delete(profile_id)
            return Response(status_code=204)
        if_match = request.headers.get("if-match", "")
        if not if_match:
            raise invalid("Header missing or empty: If-Match")
        body = await read_json_object(request)
        name, description = body.get("name"), body.get("description")
        if name is not None and not isinstance(name, str):
            raise invalid("name must be a string")
        updated = self.iam.profiles.update(
            profile_id, if_match, name, description if isinstance(description, str) else None
        )
        return json_response(updated.to_json())

    async def links(self, request: Request) -> Response:
        profile_id = request.path_params["profile_id"]
        if request.method == "POST":
            body = await read_json_object(request)
            return json_response(self.iam.profiles.create_link(profile_id, body).to_json(), 201)
        links = self.iam.profiles.links(profile_id)
        return json_response({"links": [link.to_json() for link in links]})

    async def link(self, request: Request) -> Response:
        profile_id, link_id = request.path_params["profile_id"], request.path_params["link_id"]
        if request.method == "DELETE":
            self.iam.profiles.delete_link(profile_id, link_id)
            return Response(status_code=204)
        return json_response(self.iam.profiles.link(profile_id, link_id).to_json())

    async def apikey(self, request: Request) -> Response:
        apikey = request.headers.get("iam-apikey", "")
        iam_id = self.iam.apikeys.get(apikey) if apikey else None
        if iam_id is None:
            raise IdentityError(404, "not_found", "BXNIM0415E", "API key could not be found.")
        key_id = f"ApiKey-{uuid.uuid5(uuid.NAMESPACE_OID, apikey)}"
        account = self.iam.account_id
        return json_response(
            {
                "id": key_id,
                "entity_tag": "1-" + key_id[-32:].replace("-", ""),
                "crn": f"crn:v1:bluemix:public:iam-identity::a/{account}::apikey:{key_id}",
                "locked": False,
                "disabled": False,
                "created_by": iam_id,
                "name": "localcloud",
                "iam_id": iam_id,
                "account_id": account,
                "apikey": "",
            }
        )

    def _page(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        account_id = query.get("account_id", "")
        if not account_id:
            raise invalid("Query parameter missing or empty: account_id")
        pagesize = _int(query.get("pagesize", "20"), "pagesize")
        if not 1 <= pagesize <= 100:
            raise invalid("pagesize must be between 1 and 100")
        offset = _offset(query.get("pagetoken"))
        chosen = _sorted(
            self.iam.profiles.listing(account_id, query.get("name")),
            query.get("sort"),
            query.get("order", "asc"),
        )
        base = str(request.base_url).rstrip("/") + "/v1/profiles?"
        keep = {k: v for k, v in query.items() if k != "pagetoken"}
        body: dict[str, Any] = {
            "offset": offset,
            "limit": pagesize,
            "first": base + urlencode(keep),
            "profiles": [p.to_json() for p in chosen[offset : offset + pagesize]],
        }
        if offset > 0:
            body["previous"] = base + urlencode(
                {**keep, "pagetoken": _token(max(offset - pagesize, 0))}
            )
        if offset + pagesize < len(chosen):
            body["next"] = base + urlencode({**keep, "pagetoken": _token(offset + pagesize)})
        return body


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise invalid("pagetoken is not valid")


def _sorted(profiles: list[Profile], sort: str | None, order: str) -> list[Profile]:
    if order not in ("asc", "desc"):
        raise invalid("order must be asc or desc")
    if sort is None:
        return profiles if order == "asc" else list(reversed(profiles))
    if sort not in SORTS:
        raise invalid(f"sort must be one of {', '.join(SORTS)}")
    return sorted(profiles, key=lambda p: str(p.to_json().get(sort, "")), reverse=order == "desc")
