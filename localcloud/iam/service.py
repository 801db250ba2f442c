"""IAM's state: the API keys and compute-resource tokens it knows, and the tokens it issues.

Tokens are real JWTs (HS256 with a per-process key) carrying `iat`, `exp`, `iss`, `sub`, which the
SDK core's JWT token manager decodes (without verifying) to schedule refreshes.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

ISSUER = "https://iam.cloud.ibm.com/identity"


@dataclass
class Iam:
    """Known API keys and compute-resource tokens, and the tokens issued for them."""

    token_ttl: int = 3600
    apikeys: dict[str, str] = field(default_factory=dict)  # apikey -> iam_id
    cr_tokens: dict[str, set[str]] = field(default_factory=dict)  # cr token -> profile names
    _key: str = field(default_factory=lambda: secrets.token_hex(32))

    def add_apikey(self, apikey: str, iam_id: str = "iam-ServiceId-certsync") -> None:
        self.apikeys[apikey] = iam_id

    def add_trusted_profile(self, cr_token: str, profile_name: str) -> None:
        self.cr_tokens.setdefault(cr_token, set()).add(profile_name)

    def issue(self, subject: str) -> dict[str, Any]:
        """The token endpoint's answer for `subject` (an IAM id)."""
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "iam_id": subject, "iat": now}
        claims["exp"] = now + self.token_ttl
        return {
            "access_token": jwt.encode(claims, self._key, algorithm="HS256"),
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
