"""IAM's state: the API keys and compute-resource tokens it knows, the trusted profiles and
policies created through its admin APIs, and the tokens it issues.

Tokens are real JWTs (HS256 with a per-process key) carrying `iat`, `exp`, `iss`, `sub`, which the
SDK core's JWT token manager decodes (without verifying) to schedule refreshes.

Who is restricted by access policies (the emulator's model of the account):
- a trusted profile created through the IAM Identity API: only what its access policies grant
  (`allows`, enforced by the middleware with the table in `access.py`);
- an API key's identity (a user or service ID, `add_apikey`): unrestricted, as if it were an
  account administrator, so tests and the deploy tool need no policies for themselves;
- a profile seeded with `add_trusted_profile` (test seeding, no such profile in the Identity
  API): unrestricted, as before.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

from localcloud.account import Identity
from localcloud.iam import roles
from localcloud.iam.policies import Policies
from localcloud.iam.profiles import Profile, Profiles

ISSUER = "https://iam.cloud.ibm.com/identity"
# Tokens whose signature was checked, kept to skip a second HS256 decode: the middleware asks
# `verify` and `caller` for every request, and a client reuses one token for an hour.
VERIFIED_TOKENS = 1024


@dataclass
class Iam:
    """Known API keys and compute-resource tokens, and the tokens issued for them."""

    identity: Identity = field(default_factory=Identity)
    token_ttl: int = 3600
    apikeys: dict[str, str] = field(default_factory=dict)  # apikey -> iam_id
    cr_tokens: dict[str, set[str]] = field(default_factory=dict)  # cr token -> profile names
    _key: str = field(default_factory=lambda: secrets.token_hex(32))
    # cr token -> the compute resource it was given to (crn, component type, component name)
    _resources: dict[str, ComputeResource] = field(default_factory=dict)
    profiles: Profiles = field(init=False)
    policies: Policies = field(init=False)
    # token -> (the key it was verified with, its claims); emptied when it reaches the bound
    _verified: dict[str, tuple[str, dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.profiles = Profiles(self.identity.account_id)
        self.policies = Policies(self.identity.account_id)

    @property
    def account_id(self) -> str:
        return self.identity.account_id

    def add_apikey(self, apikey: str, iam_id: str = "iam-ServiceId-certsync") -> None:
        self.apikeys[apikey] = iam_id

    def add_trusted_profile(self, cr_token: str, profile_name: str) -> None:
        """Test seeding: `cr_token` may assume `iam-Profile-<profile_name>`, which is not a
        profile of the Identity API and is not subject to access policies."""
        self.cr_tokens.setdefault(cr_token, set()).add(profile_name)

    def compute_resource_token(self, crn: str, component_type: str, component_name: str) -> str:
        """The token Code Engine mounts into a job run or app instance: `crn` is the project's
        CRN, `component_type` `job` or `application`. The cr-token grant trades it for a trusted
        profile's access token when that profile has a CE link to exactly this component."""
        token = f"crtoken-{secrets.token_urlsafe(32)}"
        self._resources[token] = ComputeResource(crn, component_type, component_name)
        return token

    def linked_profile(self, cr_token: str, profile: str) -> Profile | None:
        """The Identity API profile (by id or name) that `cr_token`'s compute resource may
        assume, or None (unknown token, no such profile in the token's account, no link)."""
        resource = self._resources.get(cr_token)
        if resource is None:
            return None
        found = self.profiles.find(resource.account_id, profile)
        if found is None or not self.profiles.linked(found, *resource.link):
            return None
        return found

    def knows_cr_token(self, cr_token: str) -> bool:
        return cr_token in self._resources or cr_token in self.cr_tokens

    def allows(
        self, iam_id: str, service: str, instance: str | None, accepted: frozenset[str]
    ) -> bool:
        """Whether `iam_id` may make a call that needs one of `accepted` (role display names) on
        `service`/`instance`. API-key identities and seeded profiles are not restricted."""
        if not self.profiles.is_api_profile(iam_id):
            return True
        return self.policies.grants(iam_id, service, instance, accepted)

    def authorized(
        self,
        source_service: str,
        source_instance: str,
        target_service: str,
        target_instance: str,
        role: str,
    ) -> bool:
        """Whether an authorization policy grants `role` (display name, e.g. "Event Source
        Manager" or "Writer", or its CRN) to `source_service`/`source_instance` on
        `target_service`/`target_instance`. A policy without `serviceInstance` on either side
        covers every instance of that service in the account."""
        name = roles.display_name(role)
        if name is None:
            return False
        return self.policies.authorizes(
            (source_service, source_instance), (target_service, target_instance), name
        )

    def issue(self, subject: str) -> dict[str, Any]:
        """The token endpoint's answer for `subject` (an IAM id)."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": ISSUER, "sub": subject, "iam_id": subject, "iat": now}
        claims["account"] = {"bss": self.account_id}
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
        claims = self._claims(authorization)
        return claims if isinstance(claims, str) else None

    def caller(self, authorization: str | None) -> str | None:
        """The IAM id a valid Authorization header's token was issued to, else None."""
        claims = self._claims(authorization)
        return None if isinstance(claims, str) else str(claims.get("iam_id", ""))

    def _claims(self, authorization: str | None) -> dict[str, Any] | str:
        if not authorization:
            return "missing Authorization header"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "Authorization header is not a bearer token"
        known = self._verified.get(token)
        if known is not None and known[0] == self._key:
            return _still_valid(known[1])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._key, algorithms=["HS256"], issuer=ISSUER
            )
        except jwt.ExpiredSignatureError:
            return "access token expired"
        except jwt.InvalidTokenError:
            return "access token is not valid"
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()  # one call, safe beside another thread's look-up
        self._verified[token] = (self._key, claims)
        return claims


def _still_valid(claims: dict[str, Any]) -> dict[str, Any] | str:
    """A verified token's time claims checked again, as PyJWT's `decode` checks them (`iat` not
    after now, `exp` after now, no leeway; api_jwt.py `_validate_claims`): only time can change
    the answer for a token whose signature and issuer were already checked."""
    now = time.time()
    if "iat" in claims and int(claims["iat"]) > now:
        return "access token is not valid"
    if "exp" in claims and int(claims["exp"]) <= now:
        return "access token expired"
    return claims


@dataclass(frozen=True)
class ComputeResource:
    """What a compute-resource token was given to."""

    crn: str
    component_type: str
    component_name: str

    @property
    def account_id(self) -> str:
        """The `a/<account>` scope of the CRN (empty when it has none)."""
        parts = self.crn.split(":")
        scope = parts[6] if len(parts) > 6 else ""
        return scope[2:] if scope.startswith("a/") else ""

    @property
    def link(self) -> tuple[str, str, str]:
        return (self.crn, self.component_type, self.component_name)
