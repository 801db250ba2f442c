import json
from typing import Any

import pytest

from shared.events import notification_from_dict, parse_notification
from shared.run_names import MAX_RUN_NAME, ROTATION, is_valid_name, run_name
from tests.builders import notification, secret_crn, secret_entry
from trigger.runs import (
    MAX_RUN_BYTES,
    RUN_BUDGET,
    TooLarge,
    plan_runs,
    run_request_body,
    run_request_size,
)


def secret_id(index: int) -> str:
    return f"{index:08x}-4f50-6172-8394-a5b6c7d8e9f0"


def rotation(count: int) -> dict[str, Any]:
    """A secret_rotated notification of `count` certificates in CRN form, with long properties."""
    secrets = [
        secret_entry(
            secret_crn(secret_id(i)),
            secret_name=f"cert-{i}",
            serial_number="3a:9f:01:" + "ab:" * 16 + "cd",
            domains="example.com, www.example.com, api.example.com",
            event_triggered_by="iam-ServiceId-secrets-manager-0123456789",
        )
        for i in range(count)
    ]
    return notification(
        secret_type="imported_cert",
        secrets=secrets,
        ibmendefaultlong="You have certificates that rotated: " + "cert, " * count,
    )


def test_one_secret_gives_one_run_with_a_compact_notification():
    notification = notification_from_dict(rotation(1))

    (run,) = plan_runs("certsync", notification)

    assert run.name == run_name("certsync", ROTATION, notification.key)
    assert run.secret_ids == (secret_id(0),)
    assert json.loads(run.notification_json) == {
        "id": "6f1c8a52-0d3e-4b7a-9c21-3e5f7a9b0c1d",
        "notification_id": "2d4f6a8c-1b3d-4e5f-8a7b-9c0d1e2f3a4b",
        "type": "com.ibm.cloud.secrets-manager.secret_rotated",
        "time": "2026-11-28T01:00:00.000000Z",
        "data": {
            "event_type": "secret_rotated",
            "secret_type": "imported_cert",
            "secrets": [{"secret_id": secret_id(0)}],
        },
    }


def test_the_job_reads_the_compact_form_as_it_reads_the_original():
    original = notification_from_dict(rotation(3))

    (run,) = plan_runs("certsync", original)
    passed_on = parse_notification(run.notification_json)

    assert passed_on.key == original.key
    assert passed_on.kind == original.kind == "secret_rotated"
    assert passed_on.secret_type == original.secret_type
    assert passed_on.secret_ids == original.secret_ids


def test_a_full_batch_of_100_secrets_in_crn_form_fits_within_the_limit():
    raw = json.dumps(rotation(100))
    assert len(raw) > 40_000  # what Event Notifications sends (and its job destination passes on)
    notification = parse_notification(raw)

    runs = plan_runs("certsync", notification)

    sizes = [len(run_request_body("certsync", r.name, r.notification_json)) for r in runs]
    assert max(sizes) <= RUN_BUDGET < MAX_RUN_BYTES
    assert [i for r in runs for i in r.secret_ids] == list(notification.secret_ids)


def test_a_batch_too_large_for_one_run_is_split_every_secret_exactly_once():
    notification = notification_from_dict(rotation(100))

    runs = plan_runs("certsync", notification, budget=2048)

    assert len(runs) > 1
    assert [i for r in runs for i in r.secret_ids] == list(notification.secret_ids)
    for part, run in enumerate(runs, start=1):
        assert run.name == run_name("certsync", ROTATION, notification.key, part)
        assert len(run_request_body("certsync", run.name, run.notification_json)) <= 2048
        assert parse_notification(run.notification_json).secret_ids == run.secret_ids


@pytest.mark.parametrize(
    "text",
    [
        "",
        '{"id":"a","data":{"secrets":[]}}',
        'quotes " and backslashes \\ and a tab \t',
        "non-ASCII: caf\u00e9 \u2603 \U0001f512, a lone surrogate \ud800",
        "\x00\x1f control characters",
    ],
)
@pytest.mark.parametrize("job_name", ["certsync", "a-much-longer-job-name-for-certsync-0123456789"])
def test_the_run_size_is_the_length_of_the_body_the_sdk_sends_under_the_longest_name(
    job_name: str, text: str
) -> None:
    widest = run_request_body(job_name, "x" * MAX_RUN_NAME, text)

    assert run_request_size(job_name, text) == len(widest)


def test_split_runs_are_the_same_for_a_redelivery():
    first = plan_runs("certsync", notification_from_dict(rotation(100)), budget=2048)
    again = plan_runs("certsync", notification_from_dict(rotation(100)), budget=2048)

    assert first == again


def test_run_names_stay_within_the_cli_limit_for_the_longest_job_name():
    job = "j" * 63
    runs = plan_runs(job, notification_from_dict(rotation(100)), budget=2048)

    assert all(is_valid_name(r.name, MAX_RUN_NAME) for r in runs)


def test_a_secret_named_twice_is_run_once():
    body = rotation(2)
    body["data"]["secrets"].append(dict(body["data"]["secrets"][0]))

    (run,) = plan_runs("certsync", notification_from_dict(body))

    assert run.secret_ids == (secret_id(0), secret_id(1))


def test_envelope_fields_too_long_for_any_run_are_an_error():
    body = rotation(1)
    body["time"] = "2026-11-28T01:00:00Z" + "0" * 9000

    with pytest.raises(TooLarge, match="too long"):
        plan_runs("certsync", notification_from_dict(body))
