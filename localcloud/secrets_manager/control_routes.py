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
        created = self.sm.seed_certificate(
            str(body.get("secret_type")),
            body.get("name"),  # type: ignore[arg-type]  # validated by validate.name
            body.get("certificate"),  # type: ignore[arg-type]
            body.get("private_key"),
            body.get("intermediate"),
            body.get("issuing_ca"),
            body.get("ca_chain"),
            str(body.get("group") or "default"),
            labels=body.get("labels"),
            description=body.get("description"),
            custom_metadata=validate.metadata_object(
                body.get("custom_metadata"), "custom_metadata"
            ),
        )
        return json_response(created, 201)

    async def rotate(self, request: Request) -> Response:
        body = await read_json_object(request)
        validate.reject_unknown(body, _ROTATE_FIELDS)
        rotated = self.sm.rotate(
            request.path_params["id"],
            body.get("certificate"),  # type: ignore[arg-type]  # validated by cert_payload
            body.get("private_key"),
            body.get("intermediate"),
            body.get("issuing_ca"),
            body.get("ca_chain"),
        )
        return json_response(rotated, 201)
