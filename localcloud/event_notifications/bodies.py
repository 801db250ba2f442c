"""The admin API's JSON bodies read into the emulator's values: text and flag fields, a topic's
`sources` (`SourcesItems`), a subscription's `attributes`, a destination's `config.params`
(`admin_routes.py` documents the choices made where IBM documents none)."""

from __future__ import annotations

import dataclasses
from typing import Any

from localcloud.account import Identity
from localcloud.event_notifications.delivery import Destination, check_webhook
from localcloud.event_notifications.send import invalid
from localcloud.event_notifications.topics import Rule

WEBHOOK_VERBS = frozenset({"get", "post", "put", "patch"})
APP_VERBS = frozenset({"get", "post"})


def text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(f"'{key}' must be a non-empty string")
    return value


def flag(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"'{key}' must be a boolean")
    return value


def rules(sources: Any) -> list[Rule]:
    """`SourcesItems`: `[{id, rules: [{enabled, event_type_filter, notification_filter}]}]`."""
    if not isinstance(sources, list):
        raise invalid("'sources' must be a list")
    rules: list[Rule] = []
    try:
        for source in sources:
            for rule in source["rules"]:
                if "notification_filter" in rule and rule["notification_filter"] is None:
                    raise invalid("'notification_filter' must be a string: omit it for no filter")
                enabled = flag(rule, "enabled")
                notification_filter = text(rule, "notification_filter")
                rules.append(
                    Rule(
                        str(source["id"]),
                        str(text(rule, "event_type_filter", required=True)),
                        True if enabled is None else enabled,
                        notification_filter,
                    )
                )
    except (KeyError, TypeError) as exc:
        raise invalid(f"'sources' items need an 'id' and 'rules': {exc}") from None
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return rules


def signing(attributes: Any, destination: Destination) -> bool | None:
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        raise invalid("'attributes' must be an object")
    allowed = (
        {"signing_enabled", "template_id_notification"}
        if destination.kind == "webhook"
        else {"template_id_notification"}
    )
    unknown = sorted(set(attributes) - allowed)
    if unknown:
        raise invalid(f"attributes {unknown} do not apply to a {destination.api_type} destination")
    return flag(attributes, "signing_enabled")


def project_crn(identity: Identity) -> str:
    return (
        f"crn:v1:bluemix:public:codeengine:{identity.region}:a/{identity.account_id}:"
        f"{identity.project_id}::"
    )


def configured(
    destination: Destination, kind: str, config: dict[str, Any], identity: Identity
) -> Destination:
    """The destination with `config.params` applied, checked for its API type."""
    params = config.get("params")
    if not isinstance(params, dict):
        raise invalid("'config' needs a 'params' object")
    if kind not in ("webhook", "ibmce"):
        raise invalid(f"destination type '{kind[:32]}' is not supported by the emulator")
    run_type = params.get("type") if kind == "ibmce" else None
    if kind == "ibmce" and run_type == "job":
        crn, job = params.get("project_crn"), params.get("job_name")
        if crn != project_crn(identity) or not isinstance(job, str) or not job:
            raise invalid("a job destination needs this account's 'project_crn' and a 'job_name'")
        if "url" in params or "verb" in params:
            raise invalid("a job destination takes no 'url' or 'verb'")
        return dataclasses.replace(
            destination, kind="code_engine_job", job_name=job, project_crn=crn, url=None
        )
    if kind == "ibmce" and run_type != "application":
        raise invalid("an ibmce destination's 'type' must be 'application' or 'job'")
    verbs = WEBHOOK_VERBS if kind == "webhook" else APP_VERBS
    url, verb = params.get("url"), params.get("verb")
    headers = params.get("custom_headers") or {}
    sensitive = params.get("sensitive_headers") or []
    if not isinstance(url, str) or verb not in verbs:
        raise invalid(f"'url' and a 'verb' among {sorted(verbs)} are required")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise invalid("'custom_headers' must map names to strings")
    if not isinstance(sensitive, list) or not all(isinstance(h, str) for h in sensitive):
        raise invalid("'sensitive_headers' must be a list of header names")
    try:
        check_webhook(url, headers, set(sensitive))
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return dataclasses.replace(
        destination,
        kind="webhook" if kind == "webhook" else "code_engine_app",
        url=url,
        verb=str(verb),
        headers=dict(headers),
        sensitive_headers=frozenset(sensitive),
        job_name=None,
        project_crn=None,
    )
