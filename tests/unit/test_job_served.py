import pytest

from job.served import address_for
from job.variables import ConnectTo, parse_connect_to


def test_connect_to_entries_in_curls_form():
    entries = parse_connect_to(
        "www.example.com:443:127.0.0.1:8443, ::[::1]:9443,api.example.com::: "
    )

    assert entries == (
        ConnectTo("www.example.com", 443, "127.0.0.1", 8443),
        ConnectTo("", None, "::1", 9443),
        ConnectTo("api.example.com", None, "", None),
    )


def test_the_first_matching_entry_decides_and_the_rest_resolve_as_usual():
    entries = parse_connect_to("www.example.com:443:127.0.0.1:8443,:443:10.1.2.3:")

    assert address_for("WWW.example.com", entries) == ("127.0.0.1", 8443)
    assert address_for("shop.example.com", entries) == ("10.1.2.3", 443)
    assert address_for("shop.example.com", ()) == ("shop.example.com", 443)
    assert address_for("www.example.com", parse_connect_to("www.example.com:8443:x:1")) == (
        "www.example.com",
        443,
    )


@pytest.mark.parametrize(
    "text", ["www.example.com:443:127.0.0.1", "a:b:c:d", "www.example.com:443:1.2.3.4:70000"]
)
def test_a_malformed_entry_is_named(text):
    with pytest.raises(ValueError, match="is not HOST:PORT:CONNECT_TO_HOST:CONNECT_TO_PORT"):
        parse_connect_to(text)
