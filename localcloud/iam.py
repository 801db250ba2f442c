"""IAM: `POST /identity/token` for the apikey and cr-token grants, and bearer checks for the rest.

Tokens are real JWTs (HS256 with a per-process key) carrying `iat`, `exp`, `iss`, `sub`, which the
SDK core's JWT token manager decodes (without verifying) to schedule refreshes.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localcloud.http import json_response

APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
CR_TOKEN_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
ISSUER = "https://iam.cloud.ibm.com/identity"


def iam_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """IAM's own error shape (different from the platform envelope); the SDK core's ApiException
    reads `errorMessage` into `.message`."""
    return json_response(
        {
            "errorCode": code,
            "errorMessage": message,
            "context": {"requestId": secrets.token_hex(8)},
        },
        status,
        headers,
    )


@dataclass
class Iam:
    """Known API keys and compute-resource tokens, and the tokens issued for them."""

    token_ttl: int = 3600
    apikeys: dict[str, str] = field(default_factory=dict)  # apikey -> iam_id
    cr_tokens: dict[str, set[str]] = field(default_factory=dict)  # cr token -> profile names
    issued: int = 0
    _key: str = field(default_factory=lambda: secrets.token_hex(32))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_apikey(self, apikey: str, iam_id: str = "iam-ServiceId-certsync") -> None:
        self.apikeys[apikey] = iam_id

    def add_trusted_profile(self, cr_token: str, profile_name: str) -> None:
        self.cr_tokens.setdefault(cr_token, set()).add(profile_name)

    def issue(self, subject: str) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "iam_id": subject, "iat": now}
        claims["exp"] = now + self.token_ttl
        token = jwt.encode(claims, self._key, algorithm="HS256")
        with self._lock:
            self.issued += 1
        return {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "expiration": claims["exp"],
            "scope": "ibm openid",
        }

    def verify(self, authorization: str | None) -> str | None:
        """Return why the Authorization header is not acceptable, or None when it is."""
        if not authorization:
            return "missing Authorization header"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "Authorization header is not a bearer token"
        try:
            jwt.decode(token, self._key, algorithms=["HS256"], issuer=ISSUER)
        except jwt.ExpiredSignatureError:
            return "access token expired"
        except jwt.InvalidTokenError:
            return "access token is not valid"
        return None

    async def token_endpoint(self, request: Request) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return iam_error(400, "BXNIM0109E", "Property missing or empty: grant_type")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if grant == APIKEY_GRANT:
            return self._apikey_grant(form)
        if grant == CR_TOKEN_GRANT:
            return self._cr_token_grant(form)
        return iam_error(400, "BXNIM0103E", "Unsupported grant type.")

    def _apikey_grant(self, form: dict[str, str]) -> Response:
        apikey = form.get("apikey", "")
        if not apikey:
            return iam_error(400, "BXNIM0109E", "Property missing or empty: apikey")
        iam_id = self.apikeys.get(apikey)
        if iam_id is None:
            return iam_error(400, "BXNIM0415E", "Provided API key could not be found.")
        return json_response(self.issue(iam_id))

    def _cr_token_grant(self, form: dict[str, str]) -> Response:
        profiles = self.cr_tokens.get(form.get("cr_token", ""))
        if profiles is None:
            return iam_error(400, "BXNIM0438E", "Compute resource token is not valid.")
        name = form.get("profile_name") or form.get("profile_id")
        if name not in profiles:
            return iam_error(
                400, "BXNIM0500E", "Compute resource is not linked to the trusted profile."
            )
        return json_response(self.issue(f"iam-Profile-{name}"))

    def routes(self) -> list[Route]:
        return [Route("/identity/token", self.token_endpoint, methods=["POST"])]
