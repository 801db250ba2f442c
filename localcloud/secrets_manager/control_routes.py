"""Secrets Manager's control plane, under `/_localcloud/secrets_manager/` (no token needed):
`POST secrets` seeds a certificate of any type, `POST secrets/{id}/rotate` rotates one as the
service would (both answer 201 with the secret); each calls one in-process method."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import CONTROL_PREFIX, json_response, read_json_object
from localcloud.secrets_manager import validate
from localcloud.secrets_manager.model import CertificateParts, Details
from localcloud.secrets_manager.service import SecretsManager

CONTROL = f"{CONTROL_PREFIX}secrets_manager"
_ROTATE_FIELDS = frozenset({"certificate", "private_key", "intermediate", "issuing_ca", "ca_chain"})
_SEED_FIELDS = _ROTATE_FIELDS | {
    "secret_type",
    "name",
    "group",
    "labels",
    "description",
    "custom_metadata",
}


def control_routes(sm: SecretsManager) -> list[BaseRoute]:
    control = _Control(sm)
    return [
        Route(f"{CONTROL}/secrets", control.seed, methods=["POST"]),
        Route(f"{CONTROL}/secrets/{{id}}/rotate", control.rotate, methods=["POST"]),
    ]


class _Control:
    def __init__(self, sm: SecretsManager) -> None:
        self.sm = sm

    async def seed(self, request: Request) -> Response:
        body: dict[str, Any] = await read_json_object(request)
        validate.reject_unknown(body, _SEED_FIELDS)
        details = Details(
            str(body.get("group") or "default"),
            body.get("labels"),
            body.get("description"),
            validate.metadata_object(body.get("custom_metadata"), "custom_metadata"),
        )
        created = self.sm.seed_certificate(
            str(body.get("secret_type")),
            body.get("name"),  # type: ignore[arg-type]  # validated by validate.name
            CertificateParts.from_body(body),
            details,
        )
        return json_response(created, 201)

    async def rotate(self, request: Request) -> Response:
        body = await read_json_object(request)
        validate.reject_unknown(body, _ROTATE_FIELDS)
        rotated = self.sm.rotate(request.path_params["id"], CertificateParts.from_body(body))
        return json_response(rotated, 201)
