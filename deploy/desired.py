"""What the account should hold for a config: a pure function of the config and the facts.

Roles are IAM display names, resolved to CRNs by IAM when a policy is written (`roles.py`): the
service roles certsync needs and nothing more (README, "Install"): Secrets
Manager `SecretsReader` (read certificates and their private keys) and Code Engine `Writer` (read
and write the project's secrets, submit job runs) for the trusted profile; `Event Source Manager`
for Secrets Manager on Event Notifications (docs `secrets-manager` event-notifications, "Creating
a service-to-service authorization"; `event-notifications` en-iam.md); `Viewer` and `Writer` for
Event Notifications on the project when it starts the job itself (docs `event-notifications`
en-destinations-codeengine).
"""

from __future__ import annotations

import shlex
from typing import Any

from deploy.config import Config
from deploy.model import MARKER, Facts, Kind, Resource
from deploy.workloads import SOURCE_ID_UNKNOWN, code_engine_resources
from shared.events import CERTIFICATE_TYPES

SECRETS_READER = "SecretsReader"
WRITER = "Writer"
VIEWER = "Viewer"
EVENT_SOURCE_MANAGER = "Event Source Manager"
PUBLISHER = "Event Notification Publisher"

# A topic rule as IBM writes one (README, "The filter"): `event_type_filter` lets every event of
# the source through (`$.*`: Terraform `ibm_en_topic`'s default, en-cli.md's TopicCreateSourcesItem
# example), and `notification_filter` holds the conditions on the payload, in the forms and with
# the double-quoted literals of en-advanced-filtering.md (`$.data.event_type ==
# "secret_about_to_expire"`, `$.data.region =~ "dallas|london|sydney"`, `... && ...`). A filter
# is never sent as null: the key is left out. The trigger and the job filter again on their own
# (shared/events.py), so a wider topic costs a request, never a wrong run.
ALL_EVENTS = "$.*"
ROTATED = '$.data.event_type == "secret_rotated"'
CERTIFICATES = '$.data.secret_type =~ "{}"'.format("|".join(CERTIFICATE_TYPES))
ROTATED_CERTIFICATES = f"{ROTATED} && {CERTIFICATES}"
APP_URL_UNKNOWN = "<the trigger app's URL, known once it runs>"


def desired(
    config: Config, facts: Facts, *, app_url: str | None = None, alert_source: str | None = None
) -> list[Resource]:
    """Everything `apply` makes exist, in creation order. `app_url` and `alert_source` are known
    once the trigger app runs and the alerts source exists."""
    webhook = config.delivery == "webhook"
    out = [
        *_iam(config, facts),
        *_alerts_source(config),
        *code_engine_resources(config, facts, alert_source),
    ]
    out.append(
        Resource(
            Kind.REGISTRATION,
            "secrets-manager",
            {"event_notifications_instance_crn": facts.en_crn},
            detail=f"Secrets Manager {config.sm_instance} as a source of Event Notifications",
        )
    )
    out.extend(_event_notifications(config, facts, app_url if webhook else None))
    if config.alerts:
        out.append(_alerts_topic(config, alert_source))
    return out


def _alerts_source(config: Config) -> list[Resource]:
    if not config.alerts:
        return []
    spec = {"description": f"certsync's alerts ({MARKER})", "enabled": True}
    return [Resource(Kind.SOURCE, config.alerts_name, spec, detail="certsync publishes its alerts")]


def _alerts_topic(config: Config, source: str | None) -> Resource:
    rule = {"enabled": True, "event_type_filter": ALL_EVENTS}
    spec = {
        "description": f"certsync: alerts ({MARKER})",
        "sources": [{"id": source or SOURCE_ID_UNKNOWN, "rules": [rule]}],
    }
    detail = "subscribe the destinations people watch"
    return Resource(Kind.TOPIC, config.alerts_name, spec, detail=detail)


def _iam(config: Config, facts: Facts) -> list[Resource]:
    profile = config.profile_name
    links = [("ce-job", "job", config.job_name)]
    if config.delivery == "webhook":
        links.append(("ce-app", "application", config.app_name))
    out = [Resource(Kind.PROFILE, profile, {"description": f"certsync ({MARKER})"})]
    out += [
        Resource(
            Kind.LINK,
            name,
            {
                "cr_type": "CE",
                "crn": facts.project_crn,
                "component_type": kind,
                "component_name": n,
            },
            detail=f"lets Code Engine {kind} '{n}' act as '{profile}'",
        )
        for name, kind, n in links
    ]
    out += [
        _policy("secrets-manager", config.sm_instance, [SECRETS_READER], "read the certificates"),
        _policy("codeengine", facts.project_id, [WRITER], "write the project's TLS secrets"),
    ]
    # Targets in other projects (a mapping's "project"): Writer there too, nothing more.
    out += [
        _policy("codeengine", project, [WRITER], "write TLS secrets there", name=name)
        for project in target_projects(config, facts)
        if (name := policy_name("codeengine", project, facts.project_id)) != "codeengine"
    ]
    if config.alerts:
        out.append(
            _policy("event-notifications", config.en_instance, [PUBLISHER], "publish alerts")
        )
    out.append(
        _authorization(
            "secrets-manager",
            config.sm_instance,
            "event-notifications",
            config.en_instance,
            [EVENT_SOURCE_MANAGER],
        )
    )
    if config.delivery == "job":
        out.append(
            _authorization(
                "event-notifications",
                config.en_instance,
                "codeengine",
                facts.project_id,
                [VIEWER, WRITER],
            )
        )
    return out


def _policy(
    service: str, instance: str, roles: list[str], why: str, *, name: str | None = None
) -> Resource:
    spec = {"service_name": service, "service_instance": instance, "roles": sorted(roles)}
    detail = f"{', '.join(roles)} on {service} {instance}: {why}"
    return Resource(Kind.POLICY, name or service, spec, detail=detail)


def policy_name(service: str, instance: str, home_project: str) -> str:
    """The service's name for the config's own instances; `codeengine:<project id>` for the
    projects of targets elsewhere."""
    if service == "codeengine" and instance != home_project:
        return f"codeengine:{instance}"
    return service


def target_projects(config: Config, facts: Facts) -> list[str]:
    """The projects the mappings write into, the job's own first."""
    projects = [facts.project_id]
    for mapping in config.mappings:
        if mapping.project and mapping.project not in projects:
            projects.append(mapping.project)
    return projects


def _authorization(
    source: str, source_instance: str, target: str, target_instance: str, roles: list[str]
) -> Resource:
    spec = {
        "source_service": source,
        "source_instance": source_instance,
        "target_service": target,
        "target_instance": target_instance,
        "roles": sorted(roles),
    }
    return Resource(Kind.AUTHORIZATION, f"{source} -> {target}", spec, detail=", ".join(roles))


def _event_notifications(config: Config, facts: Facts, app_url: str | None) -> list[Resource]:
    topic = f"{config.name}-rotations"
    rule = {
        "enabled": True,
        "event_type_filter": ALL_EVENTS,
        "notification_filter": ROTATED_CERTIFICATES,
    }
    out = [
        Resource(
            Kind.TOPIC,
            topic,
            {
                "description": f"certsync: certificate rotations ({MARKER})",
                "sources": [{"id": facts.sm_crn, "rules": [rule]}],
            },
            detail="lets only rotations of certificate secrets through",
        )
    ]
    if config.delivery == "webhook":
        destination = f"{config.name}-trigger"
        spec: dict[str, Any] = {
            "type": "webhook",
            "description": f"certsync trigger ({MARKER})",
            "url": f"{app_url}/events" if app_url else APP_URL_UNKNOWN,
            "verb": "post",
            "custom_headers": ["Authorization"],
            "sensitive_headers": ["Authorization"],
        }
        signing: dict[str, Any] = {"signing_enabled": False}
    else:
        destination = f"{config.name}-job"
        spec = {
            "type": "ibmce",
            "description": f"certsync job ({MARKER})",
            "target_type": "job",
            "project_crn": facts.project_crn,
            "job_name": config.job_name,
        }
        signing = {}
    out.append(
        Resource(Kind.DESTINATION, destination, spec, detail=spec.get("url", config.job_name))
    )
    out.append(
        Resource(
            Kind.SUBSCRIPTION,
            config.name,
            {
                "description": f"certsync ({MARKER})",
                "topic": topic,
                "destination": destination,
                **signing,
            },
            detail=f"{topic} -> {destination}",
        )
    )
    return out


def manual_steps(config: Config) -> list[str]:
    """What no IBM API can do: Code Engine's v2 API has no subscriptions (cron or otherwise), so
    the safety net is created with the CLI (docs `codeengine` subscribe-cron). And what only the
    user knows: who should hear certsync's alerts."""
    steps = []
    if config.alerts:
        steps.append(
            f"who hears certsync's alerts: subscribe the destinations people watch (Slack, "
            f"email, PagerDuty, ...) to Event Notifications topic '{config.alerts_name}'"
        )
    if config.schedule is None:
        return steps
    command = (
        f"ibmcloud ce subscription cron create --name {config.name}-nightly "
        f"--destination-type job --destination {config.job_name} "
        f"--schedule {shlex.quote(config.schedule)}"
    )
    return [
        f"the safety-net schedule ({config.schedule}, UTC): in project '{config.project}', run\n"
        f"    {command}",
        *steps,
    ]
