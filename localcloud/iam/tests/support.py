"""What the IAM contract tests share: constants and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_platform_services.iam_policy_management_v1 import (
    IamPolicyManagementV1,
    PolicyResource,
    PolicyRole,
    PolicySubject,
    ResourceAttribute,
    SubjectAttribute,
)

APIKEY = "iam-admin-test-apikey"
READER = "crn:v1:bluemix:public:iam::::serviceRole:Reader"
WRITER = "crn:v1:bluemix:public:iam::::serviceRole:Writer"
SECRETS_READER = "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader"
EVENT_SOURCE_MANAGER = "crn:v1:bluemix:public:event-notifications::::serviceRole:EventSourceManager"


def api_error(call: Callable[[], Any]) -> ApiException:
    with pytest.raises(ApiException) as info:
        call()
    return info.value


def first_error(error: ApiException) -> dict[str, Any]:
    assert error.http_response is not None
    body: dict[str, Any] = error.http_response.json()
    return {"status_code": body["status_code"], **body["errors"][0]}


def resource(account: str, service: str, instance: str | None = None) -> PolicyResource:
    attributes = [
        ResourceAttribute(name="accountId", value=account),
        ResourceAttribute(name="serviceName", value=service),
    ]
    if instance is not None:
        attributes.append(ResourceAttribute(name="serviceInstance", value=instance))
    return PolicyResource(attributes=attributes)


def access_policy(
    policies: IamPolicyManagementV1, iam_id: str, role: str, on: PolicyResource
) -> dict[str, Any]:
    """Create an access policy granting `iam_id` `role` on the resource `on`."""
    created: dict[str, Any] = policies.create_policy(
        type="access",
        subjects=[PolicySubject(attributes=[SubjectAttribute(name="iam_id", value=iam_id)])],
        roles=[PolicyRole(role_id=role)],
        resources=[on],
    ).get_result()
    return created


def service_subject(account: str, service: str, instance: str | None = None) -> PolicySubject:
    attributes = [
        SubjectAttribute(name="accountId", value=account),
        SubjectAttribute(name="serviceName", value=service),
    ]
    if instance is not None:
        attributes.append(SubjectAttribute(name="serviceInstance", value=instance))
    return PolicySubject(attributes=attributes)
