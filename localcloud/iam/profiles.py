"""Trusted profiles and their compute-resource links, as IAM Identity stores and answers them.

Shapes are the SDK's models (`ibm_platform_services.iam_identity_v1.TrustedProfile`,
`ProfileLink`, `ProfileLinkLink`): a profile's id is `Profile-<uuid>`, its `iam_id`
`iam-Profile-<uuid>` and its CRN `crn:v1:bluemix:public:iam-identity::a/<account>::profile:<id>`
(the model's docstring examples). Names are unique in an account ("trusted profiles with the same
names can not exist in the same account", `create_profile`). A link's `cr_type` is one of VSI,
PVS, BMS, IKS_SA, ROKS_SA, CE (`create_link`); for CE, `component_type` and `component_name` are
required ("only required if cr_type is CE", `CreateProfileLinkRequestLink`) and the CRN must be in
the profile's account unless `is_cross_account` ("If not provided then the account scope of the
CRN must match the Profile's account").

Unknown for real, so the stricter choice is made here:
- a CE link's CRN must be a Code Engine project's (`crn:v1:bluemix:public:codeengine:<region>:
  a/<account>:<project id>::`) and `component_type` `job` or `application` (what Code Engine's
  docs link: `ibmcloud iam trusted-profile-link-create ... --link-component-type job|application`);
- a stale `If-Match` (not `*`, not the current `entity_tag`) is a 409, as a duplicate name is;
- a second link to the same compute resource is a 409;
- entity tags are `<version>-<hash>`, bumped by each update.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.iam.errors import IdentityError, invalid, profile_not_found

CR_TYPES = ("VSI", "PVS", "BMS", "IKS_SA", "ROKS_SA", "CE")
CE_COMPONENT_TYPES = ("job", "application")
PROJECT_CRN = re.compile(
    r"^crn:v1:bluemix:public:codeengine:[a-z0-9-]+:a/(?P<account>[0-9a-f]+):"
    r"(?P<project>[0-9a-z-]{36})::$"
)


def _now() -> str:
    """IAM Identity's timestamps, e.g. `2024-05-01T10:00+0000` (the SDK parses them)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M+0000")


def _tag(version: int, *parts: str) -> str:
    return f"{version}-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Link:
    id: str
    profile_id: str
    cr_type: str
    crn: str
    component_type: str | None
    component_name: str | None
    name: str | None
    created_at: str

    def to_json(self) -> dict[str, Any]:
        link = {"crn": self.crn}
        if self.component_type is not None:
            link["component_type"] = self.component_type
        if self.component_name is not None:
            link["component_name"] = self.component_name
        body: dict[str, Any] = {
            "id": self.id,
            "entity_tag": _tag(1, self.id),
            "created_at": self.created_at,
            "modified_at": self.created_at,
            "cr_type": self.cr_type,
            "link": link,
        }
        if self.name is not None:
            body["name"] = self.name
        return body

    def matches(self, crn: str, component_type: str, component_name: str) -> bool:
        return (self.cr_type, self.crn, self.component_type, self.component_name) == (
            "CE",
            crn,
            component_type,
            component_name,
        )


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    account_id: str
    description: str | None
    created_at: str
    modified_at: str
    version: int = 1

    @property
    def iam_id(self) -> str:
        return f"iam-{self.id}"

    @property
    def entity_tag(self) -> str:
        return _tag(self.version, self.id, self.name, self.description or "")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "entity_tag": self.entity_tag,
            "crn": f"crn:v1:bluemix:public:iam-identity::a/{self.account_id}::profile:{self.id}",
            "name": self.name,
            "created_at": self.created_at,
            "modified_at": self.modified_at,
            "iam_id": self.iam_id,
            "account_id": self.account_id,
        }
        if self.description:
            body["description"] = self.description
        return body


@dataclass
class Profiles:
    """The account's trusted profiles and links (guarded by `lock`: tests call in from their
    own thread while the server answers requests)."""

    account_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    _profiles: dict[str, Profile] = field(default_factory=dict)
    _links: dict[str, list[Link]] = field(default_factory=dict)  # profile id -> links
    # Every iam_id ever created through the API: their tokens are subject to access policies,
    # even after the profile is deleted (its policies are gone, so nothing is allowed).
    _api_iam_ids: set[str] = field(default_factory=set)

    def create(self, name: str, account_id: str, description: str | None) -> Profile:
        _check_name(name)
        with self.lock:
            self._check_account(account_id)
            self._check_unique(name, account_id, None)
            now = _now()
            profile = Profile(f"Profile-{uuid.uuid4()}", name, account_id, description, now, now)
            self._profiles[profile.id] = profile
            self._links[profile.id] = []
            self._api_iam_ids.add(profile.iam_id)
            return profile

    def get(self, profile_id: str) -> Profile:
        profile = self._profiles.get(profile_id)
        if profile is None:
            raise profile_not_found(profile_id)
        return profile

    def listing(self, account_id: str, name: str | None) -> list[Profile]:
        self._check_account(account_id)
        return [
            p
            for p in list(self._profiles.values())  # in order of creation
            if p.account_id == account_id and (name is None or p.name == name)
        ]

    def update(
        self, profile_id: str, if_match: str, name: str | None, description: str | None
    ) -> Profile:
        with self.lock:
            current = self.get(profile_id)
            if if_match not in ("*", current.entity_tag):
                raise IdentityError(
                    409,
                    "conflict",
                    "BXNIM0511E",
                    f"Trusted profile '{profile_id}' was modified: If-Match does not match "
                    "its entity_tag; read it again.",
                )
            if name is not None:
                _check_name(name)
                self._check_unique(name, current.account_id, profile_id)
            updated = dataclasses.replace(
                current,
                name=current.name if name is None else name,
                # An empty description clears it (`update_profile`).
                description=current.description if description is None else description or None,
                modified_at=_now(),
                version=current.version + 1,
            )
            self._profiles[profile_id] = updated
            return updated

    def delete(self, profile_id: str) -> None:
        with self.lock:
            self.get(profile_id)
            del self._profiles[profile_id]
            del self._links[profile_id]

    def is_api_profile(self, iam_id: str) -> bool:
        return iam_id in self._api_iam_ids

    def find(self, account_id: str, profile: str) -> Profile | None:
        """The profile named by id or by name in `account_id` (the cr-token grant's lookup)."""
        with self.lock:
            for candidate in self._profiles.values():
                if candidate.account_id == account_id and profile in (candidate.id, candidate.name):
                    return candidate
        return None

    # -- links ------------------------------------------------------------------------------
    def create_link(self, profile_id: str, body: dict[str, Any]) -> Link:
        with self.lock:
            profile = self.get(profile_id)
            link = _link_from(profile, body)
            for existing in self._links[profile_id]:
                if (existing.cr_type, existing.crn, existing.component_type) == (
                    link.cr_type,
                    link.crn,
                    link.component_type,
                ) and existing.component_name == link.component_name:
                    raise IdentityError(
                        409,
                        "conflict",
                        "BXNIM0512E",
                        f"Trusted profile '{profile_id}' already has a link to this resource.",
                    )
            self._links[profile_id].append(link)
            return link

    def links(self, profile_id: str) -> list[Link]:
        self.get(profile_id)
        return list(self._links[profile_id])

    def link(self, profile_id: str, link_id: str) -> Link:
        for link in self.links(profile_id):
            if link.id == link_id:
                return link
        raise IdentityError(404, "not_found", "BXNIM0514E", f"Link '{link_id[:80]}' not found.")

    def delete_link(self, profile_id: str, link_id: str) -> None:
        with self.lock:
            link = self.link(profile_id, link_id)
            self._links[profile_id].remove(link)

    def linked(self, profile: Profile, crn: str, component_type: str, name: str) -> bool:
        with self.lock:
            links = self._links.get(profile.id, [])
            return any(link.matches(crn, component_type, name) for link in links)

    # -- checks -----------------------------------------------------------------------------
    def _check_account(self, account_id: str) -> None:
        if account_id != self.account_id:
            # Unknown for real (another account's id is not the caller's to manage): 403.
            raise IdentityError(
                403,
                "forbidden",
                "BXNIM0504E",
                f"Not authorized to manage trusted profiles of account '{account_id[:64]}'.",
            )

    def _check_unique(self, name: str, account_id: str, own_id: str | None) -> None:
        for other in self._profiles.values():
            if other.account_id == account_id and other.name == name and other.id != own_id:
                raise IdentityError(
                    409,
                    "conflict",
                    "BXNIM0510E",
                    f"A trusted profile named '{name}' already exists in the account.",
                )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise invalid("Property missing or empty: name")


def _link_from(profile: Profile, body: dict[str, Any]) -> Link:
    cr_type, link = body.get("cr_type"), body.get("link")
    if cr_type not in CR_TYPES:
        raise invalid(
            f"Invalid cr_type '{str(cr_type)[:32]}': must be one of {', '.join(CR_TYPES)}"
        )
    if not isinstance(link, dict) or not isinstance(link.get("crn"), str) or not link["crn"]:
        raise invalid("Property missing or empty: link.crn")
    component_type, component_name = link.get("component_type"), link.get("component_name")
    if cr_type == "CE":
        match = PROJECT_CRN.match(link["crn"])
        if match is None:
            raise invalid("link.crn must be the CRN of a Code Engine project for cr_type CE")
        if match["account"] != profile.account_id and body.get("is_cross_account") is not True:
            raise invalid("link.crn is not in the trusted profile's account")
        if component_type not in CE_COMPONENT_TYPES:
            raise invalid("link.component_type must be 'job' or 'application' for cr_type CE")
        if not isinstance(component_name, str) or not component_name:
            raise invalid("Property missing or empty: link.component_name")
    name = body.get("name")
    return Link(
        id=f"ProfileLink-{uuid.uuid4()}",
        profile_id=profile.id,
        cr_type=cr_type,
        crn=link["crn"],
        component_type=component_type,
        component_name=component_name,
        name=name if isinstance(name, str) else None,
        created_at=_now(),
    )
