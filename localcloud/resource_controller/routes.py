"""The Resource Controller's HTTP API: `GET /v2/resource_instances/{id}` (by GUID or URL-encoded
CRN; `ResourceControllerV2.get_resource_instance`, ibm_platform_services/resource_controller_v2.py).

Errors come in the Resource Controller's own envelope, `{"error_code": "RC-...", "message": ...,
"status_code": ..., "transaction_id": ...}` (the shape IBM's docs print for its errors, e.g.
`RC-ServiceBrokerErrorResponse` in the account docs' service broker page); the SDK core's
ApiException reads `message`. The code and wording of the 404 are not documented: the ones here are
a stand-in, and a client should act on the status only.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import json_response
from localcloud.resource_controller.service import ResourceController

PATH = "/v2/resource_instances"


def rc_error(status: int, code: str, message: str) -> Response:
    body = {
        "error_code": code,
        "message": message,
        "status_code": status,
        "transaction_id": uuid.uuid4().hex,
    }
    return json_response(body, status)


def routes(controller: ResourceController) -> list[BaseRoute]:
    async def get_instance(request: Request) -> Response:
        wanted = request.path_params["id"]
        instance = controller.find(wanted)
        if instance is None:
            return rc_error(
                404, "RC-ResourceInstanceNotFound", f"Instance with id {wanted[:256]} not found"
            )
        return json_response(controller.to_dict(instance))

    return [Route(f"{PATH}/{{id:path}}", get_instance, methods=["GET"])]
