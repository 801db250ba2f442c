"""DirectSession and shared/transport.py against a real local HTTP/1.1 server (no mocks).

The server is a plain socket server answering by path, so each test can shape the wire exactly
(chunked, gzip, a close, a hang-up, silence) and count the connections it was given. Answers are
compared with what a plain `requests.Session` makes of the same exchange.
"""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator

from shared.clients import code_engine_client
from shared.session import DirectSession

JSON = b'{"name": "tls-web", "format": "tls"}'


def answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunked(body: bytes) -> bytes:
    middle = len(body) // 2
    parts = [body[:middle], body[middle:]]
    return (
        b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-Trailer: 1\r\n\r\n"
    )


ANSWERS = {
    "/json": answer("200 OK", JSON, "Content-Type: application/json", 'ETag: W/"1"'),
    "/created": answer("201 Created", JSON, "Content-Type: application/json; charset=utf-8"),
    "/accepted": answer("202 Accepted", JSON, "Content-Type: application/json"),
    "/empty": answer("204 No Content"),
    "/missing": answer(
        "404 Not Found",
        b'{"errors": [{"code": "not_found", "message": "secret tls-web not found"}]}',
        "Content-Type: application/json",
        "X-Global-Transaction-ID: tx-1",
    ),
    "/busy": answer("503 Service Unavailable", b"{}", "Retry-After: 7"),
    "/chunked": answer(
        "200 OK", chunked(JSON), "Content-Type: application/json", "Transfer-Encoding: chunked"
    ),
    "/gzip": answer(
        "200 OK", gzip.compress(JSON), "Content-Type: application/json", "Content-Encoding: gzip"
    ),
    "/repeated": answer("200 OK", b"{}", "Set-Cookie-Free: a", "Vary: Accept", "Vary: Origin"),
    "/close": answer("200 OK", JSON, "Content-Type: application/json", "Connection: close"),
    "/until-close": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + JSON,
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\n" + answer("200 OK", b"{}"),
    "/short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    "/cookie": answer("200 OK", b"{}", "Set-Cookie: session=abc; Path=/"),
}


@dataclass
class Received:
    line: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class Server:
    url: str
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    dropped: threading.Event = field(default_factory=threading.Event)  # /drop's connection closed


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server("")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            state.connections += 1
            number = state.connections
            while line := self.rfile.readline().decode("latin-1").rstrip("\r\n"):
                headers = {}
                while header := self.rfile.readline().decode("latin-1").rstrip("\r\n"):
                    name, _, value = header.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = self.rfile.read(int(headers.get("content-length", "0")))
                state.received.append(Received(line, headers, body, number))
                path = line.split(" ")[1].split("?")[0]
                if path == "/silent":
                    state.release.wait(10)
                    return
                if path == "/hangup":
                    return
                if line.startswith("HEAD "):
                    self.wfile.write(answer("200 OK", b"", "Content-Length: 2"))
                    continue
                self.wfile.write(ANSWERS.get(path, answer("200 OK", b"{}")))
                if path == "/drop":  # closed while the client holds it idle
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    state.dropped.set()
                    return
                if path in ("/close", "/until-close", "/short"):
                    return

    class Threaded(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Threaded(("127.0.0.1", 0), Handler) as httpd:
        state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        yield state
        state.release.set()
        httpd.shutdown()


@pytest.fixture
def session() -> Iterator[DirectSession]:
    with DirectSession(pool_size=2) as direct:
        yield direct


def test_the_response_is_what_requests_makes_of_it(server: Server, session: DirectSession) -> None:
    for path in ("/json", "/created", "/chunked", "/gzip", "/repeated", "/until-close"):
        ours = session.request("GET", server.url + path, timeout=5)
        theirs = requests.get(server.url + path, timeout=5)
        assert ours.status_code == theirs.status_code
        assert ours.reason == theirs.reason
        assert ours.content == theirs.content
        assert ours.url == theirs.url
        assert ours.encoding == theirs.encoding
        assert {k: v for k, v in ours.headers.items() if k.lower() != "date"} == dict(
            theirs.headers
        )
        assert ours.request.url == ours.url
    assert session.request("GET", server.url + "/repeated", timeout=5).headers["vary"] == (
        "Accept, Origin"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 100, "start": "a b/c", "names": ["x", "y"]},  # requests' own encoding
        {"version": "2026-09-04", "start": "a b/c&d=é+~", "empty": ""},  # the SDK's: text only
    ],
)
def test_the_request_is_what_requests_sends(
    server: Server, session: DirectSession, params: dict[str, int | str | list[str]]
) -> None:
    headers = {"Accept": "application/json", "If-Match": 'W/"1"', "X-Absent": None}
    session.request(
        "POST", server.url + "/v2/x%2Fy", params=params, headers=headers, data=JSON, timeout=5
    )
    requests.post(server.url + "/v2/x%2Fy", params=params, headers=headers, data=JSON, timeout=5)
    ours, theirs = server.received
    assert ours.line == theirs.line
    assert ours.body == theirs.body == JSON
    assert ours.headers == theirs.headers
    assert "x-absent" not in ours.headers


@pytest.mark.parametrize("method", ["DELETE", "POST", "PUT"])
def test_a_request_without_body_says_content_length_0(
    server: Server, session: DirectSession, method: str
) -> None:
    session.request(method, server.url + "/empty", timeout=5)
    assert server.received[0].headers["content-length"] == "0"


def test_get_and_head_without_body_send_no_content_length(
    server: Server, session: DirectSession
) -> None:
    assert session.request("HEAD", server.url + "/json", timeout=5).content == b""
    session.request("GET", server.url + "/json", timeout=5)
    assert ["content-length" in r.headers for r in server.received] == [False, False]


def test_connections_are_kept_alive_and_reused(server: Server, session: DirectSession) -> None:
    for path in ("/json", "/empty", "/chunked", "/gzip", "/missing", "/continue"):
        session.request("GET", server.url + path, timeout=5)
    assert server.connections == 1


def test_a_connection_the_server_closes_is_not_reused(
    server: Server, session: DirectSession
) -> None:
    for path in ("/close", "/json", "/until-close", "/json", "/drop", "/json"):
        assert session.request("GET", server.url + path, timeout=5).status_code == 200
        if path == "/drop":
            assert server.dropped.wait(5)
    assert server.connections == 4  # after /close, /until-close and /drop (closed while idle)


def test_sdk_calls_through_the_session(server: Server) -> None:
    client = code_engine_client(
        server.url + "/v2", BearerTokenAuthenticator("token-value"), timeout=5, pool_size=2
    )
    assert isinstance(client.http_client, DirectSession)
    assert client.get_project(id="json").get_status_code() == 200  # GET /v2/projects/json
    sent = server.received[0]
    assert sent.line.startswith("GET /v2/projects/json?version=")
    assert sent.headers["authorization"] == "Bearer token-value"
    assert sent.headers["user-agent"].startswith("code-engine-python-sdk")


def test_sdk_results_and_errors_are_as_before(server: Server) -> None:
    client = code_engine_client(
        server.url, BearerTokenAuthenticator("token-value"), timeout=5, pool_size=2
    )
    detailed = client.send(client.prepare_request("GET", "/json"))
    assert detailed.get_result() == json.loads(JSON)
    assert detailed.get_headers()["etag"] == 'W/"1"'
    assert client.send(client.prepare_request("DELETE", "/empty")).get_result() is None
    assert client.send(client.prepare_request("POST", "/accepted")).get_status_code() == 202
    with pytest.raises(ApiException) as missing:
        client.send(client.prepare_request("GET", "/missing"))
    assert missing.value.status_code == 404
    assert missing.value.message == "secret tls-web not found"
    assert missing.value.global_transaction_id == "tx-1"
    with pytest.raises(ApiException) as busy:
        client.send(client.prepare_request("GET", "/busy"))
    assert busy.value.http_response.headers["Retry-After"] == "7"


def test_no_answer_in_time_is_a_read_timeout(server: Server, session: DirectSession) -> None:
    with pytest.raises(requests.ReadTimeout):
        session.request("GET", server.url + "/silent", timeout=0.2)


def test_a_refused_connection_is_a_connection_error(session: DirectSession) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        session.request("GET", f"http://127.0.0.1:{port}/json", timeout=5)


def test_a_hang_up_before_the_answer_is_a_connection_error(
    server: Server, session: DirectSession
) -> None:
    with pytest.raises(requests.ConnectionError):
        session.request("GET", server.url + "/hangup", timeout=5)


def test_a_body_cut_short_is_a_requests_error(server: Server, session: DirectSession) -> None:
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.request("GET", server.url + "/short", timeout=5)


def test_a_header_with_a_line_break_is_refused(server: Server, session: DirectSession) -> None:
    with pytest.raises(requests.exceptions.InvalidHeader):
        session.request("GET", server.url + "/json", headers={"X-A": "1\r\nX-B: 2"}, timeout=5)
    assert server.received == []


def test_a_proxy_from_the_environment_takes_requests_path(
    server: Server, session: DirectSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session.request("GET", "http://api.example.test/json", timeout=5)
    assert server.received[0].line == "GET http://api.example.test/json HTTP/1.1"


def test_cookies_set_by_the_server_are_kept_and_sent(server: Server) -> None:
    with DirectSession() as session:
        assert session.request("GET", server.url + "/cookie", timeout=5).cookies["session"] == "abc"
        session.request("GET", server.url + "/json", timeout=5)
    assert server.received[1].headers["cookie"] == "session=abc"
