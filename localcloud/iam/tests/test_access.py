"""The access table (`access.requirement`), row by row: values in, values out."""

from __future__ import annotations

import pytest

from localcloud.iam import access, roles
from localcloud.iam.access import (
    CE,
    CE_READ,
    CE_WRITE,
    EN,
    EN_DELETE,
    EN_READ,
    EN_SEND,
    EN_SOURCES,
    EN_SOURCES_READ,
    EN_SUBSCRIBE,
    EN_UNSUBSCRIBE,
    EN_WRITE,
    SM,
    SM_MANAGE,
    SM_PAYLOAD,
    SM_READ,
    SM_WRITE,
    Requirement,
)

SMI = "5d5c5e4a-0000-4000-8000-00000000000a"
PID = "1b2c3d4e-0000-4000-8000-00000000000b"
ENI = "9f8e7d6c-0000-4000-8000-00000000000c"
SECRET = "/api/v2/secrets/0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11"
PROJECT = f"/v2/projects/{PID}"
ELSEWHERE = f"/codeengine/eu-de/v2/projects/{PID}"  # the same project id, another region's path
INSTANCE = f"/event-notifications/v1/instances/{ENI}"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        # Secrets Manager: the payload, metadata and lists, writes, privileged calls
        ("GET", SECRET, Requirement(SM, SMI, SM_PAYLOAD)),
        ("GET", f"{SECRET}/versions/current", Requirement(SM, SMI, SM_PAYLOAD)),
        (
            "GET",
            "/api/v2/secret_groups/default/secret_types/imported_cert/secrets/web-cert",
            Requirement(SM, SMI, SM_PAYLOAD),
        ),
        ("GET", f"{SECRET}/metadata", Requirement(SM, SMI, SM_READ)),
        ("GET", f"{SECRET}/versions", Requirement(SM, SMI, SM_READ)),
        ("GET", f"{SECRET}/versions/current/metadata", Requirement(SM, SMI, SM_READ)),
        ("GET", "/api/v2/secrets", Requirement(SM, SMI, SM_READ)),
        ("GET", "/api/v2/secret_groups", Requirement(SM, SMI, SM_READ)),
        ("POST", "/api/v2/secrets", Requirement(SM, SMI, SM_WRITE)),
        ("POST", f"{SECRET}/versions", Requirement(SM, SMI, SM_WRITE)),
        ("PATCH", f"{SECRET}/metadata", Requirement(SM, SMI, SM_WRITE)),
        ("DELETE", SECRET, Requirement(SM, SMI, SM_MANAGE)),
        ("POST", "/api/v2/secret_groups", Requirement(SM, SMI, SM_MANAGE)),
        ("PUT", f"{SECRET}/policies", Requirement(SM, SMI, SM_MANAGE)),
        ("GET", "/api/v2/configurations", Requirement(SM, SMI, SM_MANAGE)),
        ("GET", "/api/v2/notifications/registration", Requirement(SM, SMI, SM_READ)),
        ("POST", "/api/v2/notifications/registration/test", Requirement(SM, SMI, SM_READ)),
        ("POST", "/api/v2/notifications/registration", Requirement(SM, SMI, SM_MANAGE)),
        ("DELETE", "/api/v2/notifications/registration", Requirement(SM, SMI, SM_MANAGE)),
        # Code Engine: reads and writes in a project, and the list of projects
        ("GET", "/v2/projects", Requirement(CE, None, CE_READ)),
        ("GET", PROJECT, Requirement(CE, PID, CE_READ)),
        ("GET", f"{PROJECT}/secrets/tls-web", Requirement(CE, PID, CE_READ)),
        ("PUT", f"{PROJECT}/secrets/tls-web", Requirement(CE, PID, CE_WRITE)),
        ("POST", f"{PROJECT}/job_runs", Requirement(CE, PID, CE_WRITE)),
        ("PATCH", f"{PROJECT}/apps/trigger", Requirement(CE, PID, CE_WRITE)),
        ("DELETE", f"{PROJECT}/job_runs/run-1", Requirement(CE, PID, CE_WRITE)),
        # Code Engine in a region other than the default: the same rows, under its prefix
        ("GET", "/codeengine/eu-de/v2/projects", Requirement(CE, None, CE_READ)),
        ("GET", f"{ELSEWHERE}/secrets/tls-web", Requirement(CE, PID, CE_READ)),
        ("PUT", f"{ELSEWHERE}/secrets/tls-web", Requirement(CE, PID, CE_WRITE)),
        # Event Notifications, as en-iam.md Table 3 maps its actions
        ("POST", f"{INSTANCE}/notifications", Requirement(EN, ENI, EN_SEND)),
        ("GET", f"{INSTANCE}/sources", Requirement(EN, ENI, EN_SOURCES_READ)),
        ("POST", f"{INSTANCE}/sources", Requirement(EN, ENI, EN_SOURCES)),
        ("DELETE", f"{INSTANCE}/sources/s1", Requirement(EN, ENI, EN_SOURCES)),
        ("GET", f"{INSTANCE}/subscriptions/s1", Requirement(EN, ENI, EN_READ)),
        ("POST", f"{INSTANCE}/subscriptions", Requirement(EN, ENI, EN_SUBSCRIBE)),
        ("PATCH", f"{INSTANCE}/subscriptions/s1", Requirement(EN, ENI, EN_SUBSCRIBE)),
        ("DELETE", f"{INSTANCE}/subscriptions/s1", Requirement(EN, ENI, EN_UNSUBSCRIBE)),
        ("GET", f"{INSTANCE}/topics", Requirement(EN, ENI, EN_READ)),
        ("POST", f"{INSTANCE}/topics", Requirement(EN, ENI, EN_WRITE)),
        ("PUT", f"{INSTANCE}/destinations/d1", Requirement(EN, ENI, EN_WRITE)),
        ("DELETE", f"{INSTANCE}/topics/t1", Requirement(EN, ENI, EN_DELETE)),
        # No service role involved
        ("POST", "/identity/token", None),
        ("GET", "/v1/profiles", None),
        ("POST", "/v1/policies", None),
        ("POST", "/_localcloud/secrets_manager/secrets", None),
        ("GET", "/unknown", None),
    ],
)
def test_each_call_needs_the_documented_roles(
    method: str, path: str, expected: Requirement | None
) -> None:
    assert access.requirement(method, path, SMI) == expected


def test_the_role_sets_are_as_documented() -> None:
    assert {"SecretsReader", "Writer", "Manager"} == SM_PAYLOAD
    assert SM_PAYLOAD | {"Reader"} == SM_READ
    assert "Channel Editor" not in EN_SEND  # en-iam.md does not list it for notifications.post
    assert {"Event Source Manager", "Event Notification Publisher"} <= EN_SEND
    assert "Writer" not in EN_UNSUBSCRIBE


def test_every_role_in_the_table_is_a_known_role() -> None:
    used = set().union(*(row.roles for row in access.ROWS))
    assert used <= set(roles.BY_NAME)


@pytest.mark.parametrize(
    ("service", "crn", "known"),
    [
        ("secrets-manager", "crn:v1:bluemix:public:iam::::serviceRole:Reader", True),
        (
            "secrets-manager",
            "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader",
            True,
        ),
        ("codeengine", "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader", False),
        ("codeengine", "crn:v1:bluemix:public:iam::::role:Viewer", True),
        ("secrets-manager", "crn:v1:bluemix:public:secrets-manager::::serviceRole:Writer", False),
        (
            "event-notifications",
            "crn:v1:bluemix:public:event-notifications::::serviceRole:ChannelEditor",
            True,
        ),
        ("codeengine", "Writer", False),  # a display name is not a role id
    ],
)
def test_a_role_is_known_only_for_the_services_that_define_it(
    service: str, crn: str, known: bool
) -> None:
    assert (roles.role_for(service, crn) is not None) is known


def test_a_role_is_named_by_display_name_or_crn() -> None:
    crn = "crn:v1:bluemix:public:event-notifications::::serviceRole:EventSourceManager"
    assert roles.display_name(crn) == roles.display_name("Event Source Manager")
    assert roles.display_name("Owner") is None
