import pytest

from shared.crn import parse_crn, secrets_manager_instance

INSTANCE = "crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd:9f8e7d6c::"


def test_a_secret_crn_names_its_instance_type_and_id():
    crn = parse_crn(INSTANCE.removesuffix("::") + ":secret:0b1c2d3e")

    assert crn is not None
    assert (crn.service_name, crn.service_instance) == ("secrets-manager", "9f8e7d6c")
    assert (crn.resource_type, crn.resource) == ("secret", "0b1c2d3e")
    assert crn.instance == INSTANCE


@pytest.mark.parametrize("text", [INSTANCE, INSTANCE.removesuffix("::"), f"  {INSTANCE} "])
def test_an_instance_crn_with_or_without_its_empty_segments(text):
    assert secrets_manager_instance(text) == INSTANCE


@pytest.mark.parametrize(
    "text",
    [
        "crn:v1:bluemix:public:event-notifications:us-south:a/0123abcd:9f8e7d6c::",
        "crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd",
        "crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd:::",
        "crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd:9f8e7d6c:secret:x:extra",
        "9f8e7d6c-1111-2222-3333",
        "",
    ],
)
def test_what_is_not_a_secrets_manager_instance_crn(text):
    assert secrets_manager_instance(text) is None
