import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import (
    MAX_SECRETS,
    MalformedEvent,
    Notification,
    parse_notification,
    secret_id_from_ref,
)
from tests import builders

SECRET_ID = "0b5571f7-21e6-42b7-91c5-3f5ac9793a46"
INSTANCE = "6b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
INSTANCE_CRN = f"crn:v1:bluemix:public:secrets-manager:us-south:a/1234abcd:{INSTANCE}::"
SECRET_CRN = (
    f"crn:v1:bluemix:public:secrets-manager:us-south:a/1234abcd:{INSTANCE}:secret:{SECRET_ID}"
)

NOTIFICATION = builders.notification(
    secrets=[
        builders.secret_entry(
            SECRET_ID, serial_number="4a:3b:2c:1d", secret_expiration="2026-06-01T12:00:00Z"
        )
    ],
    source=INSTANCE_CRN,
)
# `data.event_type` spelled as in the envelope's `type`: the parser takes either spelling.
NOTIFICATION["data"]["event_type"] = "com.ibm.cloud.secrets-manager.secret_rotated"


def notification(**changes: Any) -> dict[str, Any]:
    """The valid notification, with top-level keys replaced (None removes one)."""
    return builders.with_changes(copy.deepcopy(NOTIFICATION), changes)


def with_data(**changes: Any) -> dict[str, Any]:
    body = notification()
    body["data"] = builders.with_changes(body["data"], changes)
    return body


def with_secret(**changes: Any) -> dict[str, Any]:
    body = notification()
    body["data"]["secrets"][0] = builders.with_changes(body["data"]["secrets"][0], changes)
    return body


def parse(body: Any) -> Notification:
    return parse_notification(json.dumps(body))


def rejection(raw: str | bytes) -> str:
    with pytest.raises(MalformedEvent) as info:
        parse_notification(raw)
    return str(info.value)


@pytest.mark.parametrize("ref", [SECRET_ID, f"  {SECRET_ID}\n", SECRET_CRN])
def test_secret_id_from_ref(ref: str) -> None:
    assert secret_id_from_ref(ref) == SECRET_ID


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            f"crn:v1:bluemix:public:codeengine:us-south:a/1234abcd:{INSTANCE}:secret:{SECRET_ID}",
            "is not a Secrets Manager secret CRN",
        ),
        (f"crn:v1:bluemix:public:secrets-manager:us-south:a/1234abcd:{INSTANCE}::", "is not a"),
        (f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{INSTANCE}:group:x", "is not a"),
        ("crn:v1:nope", "is not a Secrets Manager secret CRN"),
        ("", "is not a valid secret id"),
        ("has space", "is not a valid secret id"),
        ("../etc/passwd", "is not a valid secret id"),
        ("x" * 129, "is not a valid secret id"),
    ],
)
def test_secret_id_from_ref_rejects(ref: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        secret_id_from_ref(ref)


def test_parse_full_notification() -> None:
    n = parse(NOTIFICATION)
    assert n.id == NOTIFICATION["id"]
    assert n.notification_id == NOTIFICATION["notification_id"]
    assert n.event_type == "com.ibm.cloud.secrets-manager.secret_rotated"
    assert n.secret_type == "public_cert"
    assert n.source_instance_crn == INSTANCE_CRN
    assert n.key == NOTIFICATION["notification_id"]
    assert n.kind == "secret_rotated"
    assert n.secret_ids == (SECRET_ID,)
    (secret,) = n.secrets
    assert secret.name == "web-cert"
    assert secret.expiration == "2026-06-01T12:00:00Z"
    assert secret.serial_number == "4a:3b:2c:1d"


def test_parse_bytes() -> None:
    assert parse_notification(json.dumps(NOTIFICATION).encode()).secret_ids == (SECRET_ID,)


def test_key_falls_back_to_id() -> None:
    assert parse(notification(notification_id=None)).key == NOTIFICATION["id"]


def test_kind_of_a_short_event_type() -> None:
    assert parse(with_data(event_type="secret_expired")).kind == "secret_expired"


def test_event_type_falls_back_to_the_envelope_type() -> None:
    body = with_data(event_type=None)
    body["type"] = "com.ibm.cloud.secrets-manager.secret_about_to_expire:in_10_days"
    n = parse(body)
    assert n.kind == "secret_about_to_expire"
    assert n.event_sub_type == "in_10_days"


def test_secret_crn_is_reduced_to_its_id() -> None:
    assert parse(with_secret(secret_id=SECRET_CRN)).secret_ids == (SECRET_ID,)


def test_no_secrets_is_an_empty_tuple() -> None:
    assert parse(with_data(secrets=None)).secret_ids == ()


def test_exactly_max_secrets_is_accepted() -> None:
    secrets = [{"secret_id": f"id-{i}"} for i in range(MAX_SECRETS)]
    assert len(parse(with_data(secrets=secrets)).secrets) == MAX_SECRETS


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "notification is not valid JSON"),
        (b"\xff\xfe\x00", "notification is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "notification is not valid JSON"),
        ("[1, 2]", "notification must be a JSON object"),
        ('"text"', "notification must be a JSON object"),
        ("null", "notification must be a JSON object"),
    ],
)
def test_rejects_what_is_not_a_json_object(raw: str | bytes, message: str) -> None:
    assert rejection(raw).startswith(message)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (notification(id=None), "notification has no 'id'"),
        (notification(id="  "), "'id' must be a non-empty string"),
        (notification(id=42), "'id' must be a non-empty string"),
        (notification(notification_id=7), "'notification_id' must be a non-empty string"),
        (notification(data=None), "notification has no 'data' object"),
        (notification(data="secret_rotated"), "notification has no 'data' object"),
        (
            {**with_data(event_type=None), "type": None},
            "notification has no 'data.event_type' (nor a top-level 'type')",
        ),
        (with_data(event_type=5), "'event_type' must be a non-empty string"),
        (with_data(secret_type=True), "'secret_type' must be a non-empty string"),
        (with_data(secrets={"secret_id": SECRET_ID}), "'data.secrets' must be an array"),
        (with_data(secrets=[SECRET_ID]), "'data.secrets[0]' must be an object"),
        (with_secret(secret_id=None), "'data.secrets[0].secret_id' is missing or not a string"),
        (with_secret(secret_id=""), "'data.secrets[0].secret_id' is missing or not a string"),
        (with_secret(secret_id=123), "'data.secrets[0].secret_id' is missing or not a string"),
        (with_secret(secret_id="not an id"), "'data.secrets[0].secret_id': 'not an id' is not a"),
        (with_secret(secret_name=1), "'data.secrets[0].secret_name' must be a non-empty string"),
        (
            with_secret(secret_expiration={}),
            "'data.secrets[0].secret_expiration' must be a non-empty string",
        ),
        (
            with_data(secrets=[{"secret_id": "a"}] * (MAX_SECRETS + 1)),
            f"'data.secrets' has {MAX_SECRETS + 1} entries; at most {MAX_SECRETS}",
        ),
    ],
)
def test_rejects_malformed_shapes(body: dict[str, Any], message: str) -> None:
    assert rejection(json.dumps(body)).startswith(message)


def test_second_secret_is_named_by_index() -> None:
    body = with_data(secrets=[{"secret_id": SECRET_ID}, {"secret_name": "x"}])
    assert rejection(json.dumps(body)).startswith("'data.secrets[1].secret_id'")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
SECRET_ITEM = st.fixed_dictionaries(
    {},
    optional={"secret_id": JSON | st.sampled_from([SECRET_ID, SECRET_CRN]), "secret_name": JSON},
)
ENVELOPE = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON | st.just("n-1"),
        "notification_id": JSON,
        "type": JSON | st.just("com.ibm.cloud.secrets-manager.secret_rotated:x"),
        "data": JSON
        | st.fixed_dictionaries(
            {},
            optional={
                "event_type": JSON | st.just("secret_rotated"),
                "event_sub_type": JSON,
                "secrets": JSON | st.lists(SECRET_ITEM | JSON, max_size=3),
            },
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(JSON | ENVELOPE)
def test_any_json_is_parsed_or_rejected_as_malformed(value: Any) -> None:
    try:
        result = parse_notification(json.dumps(value))
    except MalformedEvent:
        return
    assert isinstance(result, Notification)


def test_blank_event_type_is_malformed():
    with pytest.raises(MalformedEvent, match="event_type"):
        parse_notification(json.dumps({"id": "n", "data": {"event_type": "  "}}))
