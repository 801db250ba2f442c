"""Encoding a request the SDK prepared (pure); sending it over sockets is in tests/integration."""

import pytest
from requests.structures import CaseInsensitiveDict

from shared.transport import Origin
from trigger.http import encode_request

URL = "https://api.us-south.codeengine.cloud.ibm.com/v2/projects/p-1/job_runs"


def prepared(**changes: object) -> dict[str, object]:
    request: dict[str, object] = {
        "method": "POST",
        "url": URL,
        "headers": CaseInsensitiveDict(
            {"content-type": "application/json", "Authorization": "Bearer t"}
        ),
        "params": {"version": "2026-09-04"},
        "data": b'{"name": "r"}',
        "files": [],
    }
    return {**request, **changes}


def test_a_prepared_request_is_one_http_1_1_message():
    raw = encode_request(prepared(), Origin.of(URL))

    head, body = raw.split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v2/projects/p-1/job_runs?version=2026-09-04 HTTP/1.1"
    assert lines[1] == "Host: api.us-south.codeengine.cloud.ibm.com"
    assert "Authorization: Bearer t" in lines
    assert "Content-Length: 13" in lines
    assert body == b'{"name": "r"}'


def test_query_parameters_are_encoded_as_requests_encodes_them():
    raw = encode_request(
        prepared(url=f"{URL}?a=1", params={"version": "x y", "start": "a/b"}), Origin.of(URL)
    )

    assert raw.startswith(b"POST /v2/projects/p-1/job_runs?a=1&version=x+y&start=a%2Fb HTTP/1.1")


def test_a_header_with_a_line_break_is_refused():
    headers = CaseInsensitiveDict({"X-Bad": "a\r\nInjected: yes"})

    with pytest.raises(ValueError, match="X-Bad"):
        encode_request(prepared(headers=headers), Origin.of(URL))


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://api.example.com/v2", "api.example.com"),
        ("http://127.0.0.1:8080/v2", "127.0.0.1:8080"),
        ("https://[::1]:8443/v2", "[::1]:8443"),
        ("http://example.com:80/v2", "example.com"),
    ],
)
def test_the_host_header_names_a_port_only_when_not_the_default(url, host):
    assert Origin.of(url).host_header == host


def test_only_http_and_https_urls_are_sent():
    with pytest.raises(ValueError, match="not an http"):
        Origin.of("ftp://example.com/")
