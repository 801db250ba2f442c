"""The `multipart/form-data` bodies of `create_destination`/`update_destination`.

The SDK sends those two as form data (requests' `files=`): `name`, `type`, `description` and
`collect_failed_events` as `text/plain` parts, `config` as an `application/json` part. Starlette
needs python-multipart to parse forms, which the emulator does without: the stdlib's MIME parser
reads the same bytes.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request

from localcloud.event_notifications.send import EnError, invalid

FORM = "multipart/form-data"


async def read_form(request: Request) -> dict[str, str]:
    """Every part by name, as text; 415 for another media type, 400 for a malformed body."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != FORM:
        media = ctype.split(";")[0].strip() or "none"
        raise EnError(
            f"Content-Type must be {FORM}, got {media}", status=415, code="unsupported_media_type"
        )
    raw = await request.body()
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise invalid("request body is not multipart/form-data")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise invalid("a form part has no name")
        try:
            fields[name] = payload.decode()
        except UnicodeDecodeError:
            raise invalid(f"form part '{name}' is not UTF-8 text") from None
    return fields


def json_part(fields: dict[str, str], name: str) -> dict[str, Any] | None:
    if name not in fields:
        return None
    try:
        value = json.loads(fields[name])
    except json.JSONDecodeError as exc:
        raise invalid(f"form part '{name}' is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise invalid(f"form part '{name}' must be a JSON object")
    return value
