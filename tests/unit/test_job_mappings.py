import json

import pytest

from job.mappings import SecretMapping, SelectedBy, parse_mappings, select
from shared.events import notification_from_dict
from tests import builders

ID1 = "0b5571f7-21e6-42b7-91c5-3f5ac9793a46"
ID2 = "9c3e4f7a-8b21-4c55-a1d2-7e3f1b2c4d5e"
CRN2 = f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:inst-1:secret:{ID2}"


def parse(items):
    return parse_mappings(json.dumps(items), source="CERTSYNC_MAPPINGS")


def test_ids_and_crns_are_reduced_to_ids():
    mappings = parse([{"secret": ID1, "target": "tls-a"}, {"secret": CRN2, "target": "tls-b"}])
    assert [m.secret_id for m in mappings] == [ID1, ID2]


def test_yaml_with_a_mappings_key():
    text = f"mappings:\n  - secret: {ID1}\n    target: tls-a\n"
    assert parse_mappings(text, source="F", yaml_ok=True) == (SecretMapping(ID1, "tls-a"),)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "non-empty array"),
        ({"secret": ID1}, "non-empty array"),
        (["x"], r"CERTSYNC_MAPPINGS\[0\]: must be an object"),
        ([{"target": "tls-a"}], "'secret' is missing"),
        ([{"secret": ID1, "target": "TLS_A"}], "not a valid Code Engine secret name"),
        ([{"secret": ID1, "target": "tls-a", "extra": 1}], "unknown key 'extra'"),
        (
            [{"secret": ID1, "tagret": "tls-a"}],
            r"unknown key 'tagret'; did you mean 'target'\?",
        ),
        (
            [{"secret": "crn:v1:bluemix:public:kms:us-south:a/x:y::", "target": "t"}],
            "not a Secrets",
        ),
        (
            [{"secret": ID1, "target": "tls-a"}, {"secret": ID2, "target": "tls-a"}],
            "appears twice",
        ),
    ],
)
def test_bad_mappings_name_the_problem(items, message):
    with pytest.raises(ValueError, match=message):
        parse(items)


def test_bad_json_names_the_source():
    with pytest.raises(ValueError, match="CERTSYNC_MAPPINGS is not valid JSON"):
        parse_mappings("[{", source="CERTSYNC_MAPPINGS")


MAPPINGS = (SecretMapping(ID1, "tls-a"), SecretMapping(ID2, "tls-b"), SecretMapping(ID1, "tls-c"))


def notification(*refs):
    """A secret_rotated notification naming the secrets `refs` (ids or CRNs)."""
    return notification_from_dict(
        builders.notification(secrets=[builders.secret_entry(r) for r in refs])
    )


def test_no_ids_and_no_event_selects_everything():
    selection = select(MAPPINGS)
    assert selection.mappings == MAPPINGS
    assert selection.selected_by is SelectedBy.ALL


def test_explicit_ids_win_over_the_event():
    selection = select(MAPPINGS, secret_ids=[ID2], notification=notification(ID1))
    assert [m.target for m in selection.mappings] == ["tls-b"]
    assert selection.selected_by is SelectedBy.SECRET_IDS


def test_event_selects_every_target_of_each_named_secret_by_id_or_crn():
    selection = select(MAPPINGS, notification=notification(CRN2, ID1))
    assert [m.target for m in selection.mappings] == ["tls-a", "tls-b", "tls-c"]
    assert selection.selected_by is SelectedBy.EVENT


def test_unmapped_ids_are_reported():
    selection = select(MAPPINGS, notification=notification("someone-else"))
    assert selection.mappings == ()
    assert selection.unmapped == ("someone-else",)
