"""Secrets Manager v2: secret groups, secrets (imported/public/private certificates, arbitrary),
versions and rotation, served under `/api/v2/` as the SDK's `SecretsManagerV2` calls them.

Public and private certificates cannot be imported on the real service (they are ordered via ACME
or issued by a private CA configuration), so the API refuses to create or rotate them; tests and
the demo seed and rotate them through Python (`seed_certificate`, `rotate`) or the control plane:
`POST /_fakecloud/secrets_manager/secrets` and
`POST /_fakecloud/secrets_manager/secrets/{id}/rotate`.
Every certificate rotation publishes `secret_rotated` to Event Notifications.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud import sm_build as build
from localcloud.http import BadRequest, json_response, read_json_object
from localcloud.sm_model import (
    ALL_TYPES,
    CERT_TYPES,
    Secret,
    Version,
    now,
    secret_full,
    secret_metadata,
    timestamp,
    version_full,
    version_metadata,
)
from localcloud.sm_query import page, parse_list_query, select
from localcloud.sm_store import SERVICE_ACTOR, SmStore, not_found

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud

SEED_ACTOR = "IBMid-fakecloud-operator"
API = "/api/v2"
CONTROL = "/_fakecloud/secrets_manager"


def _caller(request: Request) -> str:
    """The IAM id in the (already verified) bearer token."""
    token = request.headers.get("authorization", "").partition(" ")[2]
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims.get("iam_id") or claims.get("sub") or "unknown")


def _type_extra(secret_type: str) -> dict[str, Any]:
    """Type-specific metadata the SDK models require for seeded public/private certificates."""
    if secret_type == "public_cert":
        return {
            "rotation": {"auto_rotate": False, "rotate_keys": False},
            "bundle_certs": False,
            "ca": "fakecloud-letsencrypt",
            "dns": "fakecloud-cis",
            "issuance_info": {
                "auto_rotated": False,
                "ordered_on": timestamp(now()),
                "state": 1,
                "state_description": "active",
            },
        }
    if secret_type == "private_cert":
        return {
            "certificate_template": "fakecloud-template",
            "certificate_authority": "fakecloud-intermediate-ca",
            "rotation": {"auto_rotate": False},
        }
    return {}


def _not_importable(secret_type: str) -> BadRequest:
    return BadRequest(
        f"Invalid secret_type '{secret_type}': it is ordered or issued by the service, not "
        "imported (emulator: seed it via /_fakecloud/secrets_manager/secrets)"
    )


class SecretsManager:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.store = SmStore(cloud)

    # -- Python API for tests and the demo -----------------------------------------------
    def seed_certificate(  # noqa: PLR0917  (signature agreed with the other helpers)
        self,
        secret_type: str,
        name: str,
        certificate: str,
        private_key: str | None,
        intermediate: str | None = None,
        issuing_ca: str | None = None,
        ca_chain: list[str] | None = None,
        group: str = "default",
        *,
        labels: list[str] | None = None,
        description: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a certificate secret of any of the three types; returns the full secret."""
        if secret_type not in CERT_TYPES:
            raise BadRequest(f"Invalid secret_type '{secret_type}': not a certificate type")
        payload, info = build.cert_payload(
            secret_type,
            certificate,
            private_key=private_key,
            intermediate=intermediate,
            issuing_ca=issuing_ca,
            ca_chain=ca_chain,
        )
        version = Version(str(uuid.uuid4()), now(), SEED_ACTOR, payload, info)
        secret = self.store.add_secret(
            secret_type=secret_type,
            name=build.name(name),
            group_id=self.store.resolve_group(group).id,
            version=version,
            created_by=SEED_ACTOR,
            description=build.description(description),
            labels=build.labels(labels),
            custom_metadata=custom_metadata,
            extra=_type_extra(secret_type),
        )
        return secret_full(secret, now())

    def rotate(  # noqa: PLR0917  (signature agreed with the other helpers)
        self,
        secret_id: str,
        certificate: str,
        private_key: str | None,
        intermediate: str | None = None,
        issuing_ca: str | None = None,
        ca_chain: list[str] | None = None,
    ) -> dict[str, Any]:
        """A service-side rotation (renewal/re-issue); publishes `secret_rotated`."""
        secret = self.store.secret(secret_id)
        if secret.secret_type not in CERT_TYPES:
            raise BadRequest(f"Secret '{secret_id}' is not a certificate")
        payload, info = build.cert_payload(
            secret.secret_type,
            certificate,
            private_key=private_key,
            intermediate=intermediate,
            issuing_ca=issuing_ca,
            ca_chain=ca_chain,
        )
        auto = secret.secret_type != "imported_cert"
        version = Version(str(uuid.uuid4()), now(), SERVICE_ACTOR, payload, info, auto_rotated=auto)
        self.store.add_version(secret, version, SERVICE_ACTOR)
        return secret_full(secret, now())

    def secret(self, secret_id: str) -> dict[str, Any]:
        """The full secret as `get_secret` returns it (without marking it downloaded)."""
        return secret_full(self.store.secret(secret_id), now())

    def get_by_name(
        self, name: str, secret_type: str = "imported_cert", group: str = "default"
    ) -> dict[str, Any]:
        return secret_full(self.store.by_name(group, secret_type, name), now())

    def create_group(self, name: str, description: str | None = None) -> dict[str, Any]:
        group = self.store.create_group(
            build.name(name, "secret group name", 64), description, SEED_ACTOR
        )
        return group.to_dict()

    def delete_secret(self, secret_id: str) -> None:
        self.store.delete(secret_id)

    def secret_ids(self) -> list[str]:
        return [s.id for s in self.store.all()]

    # -- routes --------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{API}/secret_groups", self._groups, methods=["GET", "POST"]),
            Route(f"{API}/secret_groups/{{id}}", self._group, methods=["GET"]),
            Route(
                f"{API}/secret_groups/{{group}}/secret_types/{{secret_type}}/secrets/{{name}}",
                self._by_name,
                methods=["GET"],
            ),
            Route(f"{API}/secrets", self._secrets, methods=["GET", "POST"]),
            Route(f"{API}/secrets/{{id}}", self._secret, methods=["GET", "DELETE"]),
            Route(f"{API}/secrets/{{id}}/metadata", self._metadata, methods=["GET"]),
            Route(f"{API}/secrets/{{id}}/versions", self._versions, methods=["GET", "POST"]),
            Route(f"{API}/secrets/{{id}}/versions/{{vid}}", self._version, methods=["GET"]),
            Route(
                f"{API}/secrets/{{id}}/versions/{{vid}}/metadata",
                self._version_meta,
                methods=["GET"],
            ),
            Route(f"{CONTROL}/secrets", self._seed, methods=["POST"]),
            Route(f"{CONTROL}/secrets/{{id}}/rotate", self._rotate, methods=["POST"]),
        ]

    # -- secret groups -------------------------------------------------------------------
    async def _groups(self, request: Request) -> Response:
        if request.method == "GET":
            groups = [g.to_dict() for g in self.store.group_list()]
            return json_response({"secret_groups": groups, "total_count": len(groups)})
        body = await read_json_object(request)
        build.reject_unknown(body, frozenset({"name", "description"}))
        name = build.name(body.get("name"), "secret group name", 64)
        group = self.store.create_group(
            name, build.description(body.get("description")), _caller(request)
        )
        return json_response(group.to_dict(), 201)

    async def _group(self, request: Request) -> Response:
        return json_response(self.store.group(request.path_params["id"]).to_dict())

    # -- secrets -------------------------------------------------------------------------
    async def _secrets(self, request: Request) -> Response:
        if request.method == "POST":
            secret = self._create(await read_json_object(request), _caller(request))
            return json_response(secret_full(secret, now()), 201)
        query = parse_list_query(request.query_params)
        chosen = select(self.store.all(), query)
        at = now()
        body = page(str(request.base_url).rstrip("/") + f"{API}/secrets", query, len(chosen))
        window = chosen[query.offset : query.offset + query.limit]
        body["secrets"] = [secret_metadata(s, at) for s in window]
        return json_response(body)

    def _create(self, body: dict[str, Any], caller: str) -> Secret:
        secret_type = body.get("secret_type")
        if secret_type in ("public_cert", "private_cert"):
            raise _not_importable(str(secret_type))
        if secret_type not in build.CREATE_FIELDS:
            known = secret_type in ALL_TYPES
            why = "not supported by the emulator" if known else "unknown secret type"
            raise BadRequest(f"Invalid secret_type '{secret_type}': {why}")
        build.reject_unknown(body, build.CREATE_FIELDS[str(secret_type)])
        name = build.name(body.get("name"))
        group = self.store.group(str(body.get("secret_group_id") or "default"))
        version = self._new_version(str(secret_type), body, caller)
        return self.store.add_secret(
            secret_type=str(secret_type),
            name=name,
            group_id=group.id,
            version=version,
            created_by=caller,
            description=build.description(body.get("description")),
            labels=build.labels(body.get("labels")),
            custom_metadata=build.metadata_object(body.get("custom_metadata"), "custom_metadata"),
        )

    def _new_version(self, secret_type: str, body: dict[str, Any], caller: str) -> Version:
        meta = build.metadata_object(body.get("version_custom_metadata"), "version_custom_metadata")
        if secret_type == "arbitrary":
            payload = {"payload": build.arbitrary_payload(body)}
            expires = build.expiration(body.get("expiration_date"))
            return Version(
                str(uuid.uuid4()), now(), caller, payload, None, meta, expiration=expires
            )
        payload, info = build.cert_payload(
            secret_type,
            build.optional_text(body, "certificate"),
            private_key=build.optional_text(body, "private_key"),
            intermediate=build.optional_text(body, "intermediate"),
        )
        return Version(str(uuid.uuid4()), now(), caller, payload, info, meta)

    async def _secret(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        if request.method == "DELETE":
            self.store.delete(secret.id)
            return Response(status_code=204)
        self.store.mark_downloaded(secret, secret.current)
        return json_response(secret_full(secret, now()))

    async def _metadata(self, request: Request) -> Response:
        return json_response(secret_metadata(self.store.secret(request.path_params["id"]), now()))

    async def _by_name(self, request: Request) -> Response:
        params = request.path_params
        if params["secret_type"] not in ALL_TYPES:
            raise BadRequest(f"Invalid secret_type '{params['secret_type']}': unknown secret type")
        secret = self.store.by_name(params["group"], params["secret_type"], params["name"])
        self.store.mark_downloaded(secret, secret.current)
        return json_response(secret_full(secret, now()))

    # -- versions ------------------------------------------------------------------------
    async def _versions(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        if request.method == "GET":
            versions = [version_metadata(secret, v) for v in reversed(secret.versions)]
            return json_response({"versions": versions, "total_count": len(versions)})
        body = await read_json_object(request)
        if secret.secret_type in ("public_cert", "private_cert"):
            # Real: an ACME re-order / CA re-issue. Not emulated; rotate via the control plane.
            raise BadRequest(
                f"Rotating a {secret.secret_type} through the API is not supported by the "
                "emulator; use /_fakecloud/secrets_manager/secrets/{id}/rotate"
            )
        build.reject_unknown(body, build.VERSION_FIELDS[secret.secret_type])
        caller = _caller(request)
        version = self._new_version(secret.secret_type, body, caller)
        custom = body.get("custom_metadata")
        if custom is not None:
            secret.custom_metadata = build.metadata_object(custom, "custom_metadata")
        self.store.add_version(secret, version, caller)
        return json_response(version_full(secret, version), 201)

    async def _version(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        version = self.store.version(secret, request.path_params["vid"])
        if not secret.payload_available(version):
            # Only current and previous keep their data; the real answer for older ones is
            # undocumented, 404 is the stricter choice.
            raise not_found("secret version data", version.id)
        self.store.mark_downloaded(secret, version)
        return json_response(version_full(secret, version))

    async def _version_meta(self, request: Request) -> Response:
        secret = self.store.secret(request.path_params["id"])
        version = self.store.version(secret, request.path_params["vid"])
        return json_response(version_metadata(secret, version))

    # -- control plane -------------------------------------------------------------------
    async def _seed(self, request: Request) -> Response:
        body = await read_json_object(request)
        build.reject_unknown(body, _SEED_FIELDS)
        created = self.seed_certificate(
            str(body.get("secret_type")),
            body.get("name"),  # type: ignore[arg-type]  # validated by build.name
            body.get("certificate"),  # type: ignore[arg-type]
            body.get("private_key"),
            body.get("intermediate"),
            body.get("issuing_ca"),
            body.get("ca_chain"),
            str(body.get("group") or "default"),
            labels=body.get("labels"),
            description=body.get("description"),
            custom_metadata=build.metadata_object(body.get("custom_metadata"), "custom_metadata"),
        )
        return json_response(created, 201)

    async def _rotate(self, request: Request) -> Response:
        body = await read_json_object(request)
        build.reject_unknown(body, _ROTATE_FIELDS)
        rotated = self.rotate(
            request.path_params["id"],
            body.get("certificate"),  # type: ignore[arg-type]  # validated by cert_payload
            body.get("private_key"),
            body.get("intermediate"),
            body.get("issuing_ca"),
            body.get("ca_chain"),
        )
        return json_response(rotated, 201)


_ROTATE_FIELDS = frozenset({"certificate", "private_key", "intermediate", "issuing_ca", "ca_chain"})
_SEED_FIELDS = _ROTATE_FIELDS | {
    "secret_type",
    "name",
    "group",
    "labels",
    "description",
    "custom_metadata",
}
