"""Mappings that travel with the certificate: reading `certsync_targets`, and conflicts."""

import json

import pytest

from job.discovery import combine, discover, targets_of
from job.mappings import SecretMapping

ID1, ID2 = "id-1", "id-2"


def listed(secret_id, targets, **extra):
    return {"id": secret_id, "name": f"cert-{secret_id}", "custom_metadata": targets, **extra}


def test_names_and_objects_are_targets():
    declared = targets_of(
        ID1,
        {
            "certsync_targets": [
                "tls-a",
                {"target": "tls-b", "region": "eu-de", "verify": False},
            ]
        },
    )
    assert declared == (
        SecretMapping(ID1, "tls-a", discovered=True),
        SecretMapping(ID1, "tls-b", verify=False, region="eu-de", discovered=True),
    )


def test_a_json_string_holding_the_list_is_read_too():
    assert targets_of(ID1, {"certsync_targets": json.dumps(["tls-a"])})[0].target == "tls-a"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "has no 'certsync_targets'"),
        ([], "non-empty list"),
        ("not json", "not a JSON list"),
        (5, "non-empty list"),
        ([5], "certsync_targets[0]: must be a target name"),
        ([{"target": "Bad Name"}], "certsync_targets[0]: 'target'"),
        ([{"target": "ok", "colour": "red"}], "unknown keys ['colour']"),
        (["ok"] * 101, "at most 100"),
    ],
)
def test_a_malformed_declaration_says_what_is_wrong(value, says):
    metadata = {} if value is None else {"certsync_targets": value}
    with pytest.raises(ValueError, match=None) as info:
        targets_of(ID1, metadata)
    assert says in str(info.value)


def test_a_malformed_secret_fails_alone():
    found = discover(
        [listed(ID1, {"certsync_targets": ["tls-a"]}), listed(ID2, {"certsync_targets": 7})]
    )
    assert [m.target for m in found.mappings] == ["tls-a"]
    (problem,) = found.problems
    assert problem.secret_id == ID2
    assert "cert-id-2" in problem.reason
    assert found.secrets == 2


def test_two_sources_for_one_target_is_a_conflict_naming_both():
    explicit = (SecretMapping(ID1, "tls-a", verify=False),)
    declared = (
        SecretMapping(ID1, "tls-a", discovered=True),  # the same source again: one mapping
        SecretMapping(ID2, "tls-b", discovered=True),
        SecretMapping(ID1, "tls-b", discovered=True),
    )
    kept, conflicts = combine(explicit, declared)
    assert kept == explicit
    ((mapping, reason),) = conflicts
    assert mapping.target == "tls-b"
    assert ID1 in reason
    assert ID2 in reason


def test_the_same_name_in_another_region_is_no_conflict():
    declared = (
        SecretMapping(ID1, "tls-a", discovered=True),
        SecretMapping(ID2, "tls-a", region="eu-de", discovered=True),
    )
    kept, conflicts = combine((), declared)
    assert (len(kept), conflicts) == (2, ())
