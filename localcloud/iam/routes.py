"""IAM's HTTP API: `POST /identity/token` for the apikey and cr-token grants, plus the IAM
Identity (`identity_routes.py`) and Policy Management (`policy_routes.py`) admin APIs, which the
real IAM serves on the same host (https://iam.cloud.ibm.com)."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import IAM_PREFIX, iam_error, json_response
from localcloud.iam import identity_routes, policy_routes
from localcloud.iam.service import Iam

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"


def routes(iam: Iam) -> list[BaseRoute]:
    async def token(request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return iam_error(400, "BXNIM0109E", "Property missing or empty: grant_type")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if grant == APIKEY_GRANT:
            return _apikey_grant(iam, form)
        if grant == CR_TOKEN_GRANT:
            return _cr_token_grant(iam, form)
        return iam_error(400, "BXNIM0103E", "Unsupported grant type.")

    return [
        Route(f"{IAM_PREFIX}token", token, methods=["POST"]),
        *identity_routes.routes(iam),
        *policy_routes.routes(iam),
    ]


def _apikey_grant(iam: Iam, form: dict[str, str]) -> Response:
    apikey = form.get("apikey", "")
    if not apikey:
        return iam_error(400, "BXNIM0109E", "Property missing or empty: apikey")
    iam_id = iam.apikeys.get(apikey)
    if iam_id is None:
        return iam_error(400, "BXNIM0415E", "Provided API key could not be found.")
    return json_response(iam.issue(iam_id))


def _cr_token_grant(iam: Iam, form: dict[str, str]) -> Response:
    """A compute-resource token for a trusted profile's access token: a seeded token
    (`add_trusted_profile`) for the names it was seeded with; a token from
    `compute_resource_token` for a profile of the token's account, by `profile_id` or
    `profile_name`, that has a CE link to the token's component."""
    cr_token = form.get("cr_token", "")
    if not iam.knows_cr_token(cr_token):
        return iam_error(400, "BXNIM0438E", "Compute resource token is not valid.")
    seeded = iam.cr_tokens.get(cr_token)
    if seeded is not None:
        name = form.get("profile_name") or form.get("profile_id")
        if name in seeded:
            return json_response(iam.issue(f"iam-Profile-{name}"))
        return _not_linked()
    profile = None
    for requested in (form.get("profile_id"), form.get("profile_name")):
        if requested and profile is None:
            profile = iam.linked_profile(cr_token, requested)
    if profile is None:
        return _not_linked()
    return json_response(iam.issue(profile.iam_id))


def _not_linked() -> Response:
    return iam_error(400, "BXNIM0500E", "Compute resource is not linked to the trusted profile.")
