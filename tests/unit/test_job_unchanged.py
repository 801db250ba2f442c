"""Skipping reads that cannot change the answer: every condition, one at a time."""

import dataclasses
import datetime as dt

import pytest

from job.mappings import SecretMapping
from job.plan import Snapshot
from job.status import Result, TargetStatus

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
MAPPING = SecretMapping("id-1", "tls-a")
META = {
    "id": "id-1",
    "secret_type": "imported_cert",
    "versions_total": 2,
    "updated_at": "2026-11-01T00:00:00.000Z",
    "serial_number": "3a:9f",
    "expiration_date": "2027-02-01T00:00:00.000Z",
}
VERSION = "2/2026-11-01T00:00:00.000Z/3a:9f/2027-02-01T00:00:00.000Z"
STATUS = TargetStatus(
    secret_id="id-1",
    serial="3a9f",
    not_after="2027-02-01T00:00:00+00:00",
    outcome="updated",
    reason="",
    checked_at="2026-11-27T00:00:00+00:00",
    source_version=VERSION,
    entity_tag="tag-1",
    valid_until="2027-01-01T00:00:00+00:00",
)


def snapshot(status=STATUS, meta=META, tag="tag-1"):
    return Snapshot(
        {"tls-a": status} if status else {},
        {"id-1": meta} if meta else {},
        {("", ""): {"tls-a": tag}} if tag else {},
    )


def test_nothing_changed_is_current_without_a_read():
    outcome = snapshot().outcome(MAPPING, NOW)
    assert outcome is not None
    assert outcome.result is Result.CURRENT
    assert (outcome.serial, outcome.target_tag, outcome.source_version) == (
        "3a9f",
        "tag-1",
        VERSION,
    )
    assert outcome.secret_type == "imported_cert"


@pytest.mark.parametrize(
    "changed",
    [
        {"status": None},
        {"meta": None},
        {"tag": None},
        {"tag": "tag-2"},  # the target was changed behind certsync's back
        {"meta": {**META, "versions_total": 3, "updated_at": "2026-11-28T00:00:00.000Z"}},
        {"meta": {**META, "serial_number": "3a:a0"}},
        {"meta": {k: v for k, v in META.items() if k != "updated_at"}},  # when in doubt, read
        {"status": dataclasses.replace(STATUS, outcome="failed")},
        {"status": dataclasses.replace(STATUS, secret_id="id-2")},
        {"status": dataclasses.replace(STATUS, valid_until="2026-11-28T11:00:00+00:00")},
        {"status": dataclasses.replace(STATUS, source_version=None)},
    ],
)
def test_any_change_or_doubt_means_read(changed):
    assert snapshot(**changed).outcome(MAPPING, NOW) is None


def test_targets_elsewhere_are_looked_up_in_their_own_place():
    elsewhere = dataclasses.replace(MAPPING, region="eu-de")
    snap = Snapshot({elsewhere.key: STATUS}, {"id-1": META}, {("", "eu-de"): {"tls-a": "tag-1"}})
    assert snap.outcome(elsewhere, NOW) is not None
    assert snap.outcome(MAPPING, NOW) is None
