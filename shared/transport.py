"""HTTP/1.1 on pooled keep-alive sockets for requests the SDK built: the wire under DirectSession.

Profiling a job run (issue 11) put about 60% of its CPU per mapping in the layers between the SDK
and the socket: `requests.Session` preparing and merging settings a second time, urllib3's pool and
retry bookkeeping, and `http.client` parsing every response's headers with the `email` package. The
SDK has already built the request (`BaseService.prepare_request`: URL, query, headers, JSON body,
authentication); what is left is writing it and reading the answer, which is all this module does.

It does what `requests` over urllib3 does on that path (requests/adapters.py `send`,
urllib3/connectionpool.py `urlopen`), and raises the same `requests` exceptions: an idle
connection is checked before reuse (urllib3 `is_connection_dropped`) and never silently resent
(the SDK core's adapter allows urllib3 no retries); the timeout is per socket operation, `(connect,
read)` or one number for both; TLS uses the context it is given with SNI and ALPN `http/1.1` as
urllib3 does; bodies are read by `Content-Length`, chunked, or to the end, and `gzip`/`deflate`
decoded as requests asks for them (`Accept-Encoding: gzip, deflate`). Proxies, client
certificates, cookies, redirects and streaming stay with `requests`: `DirectSession` sends those
requests the ordinary way.
"""

from __future__ import annotations

import functools
import select
import socket
import ssl
import threading
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
from requests import certs
from urllib3.util.ssl_ import create_urllib3_context

MAX_LINE = 65536  # as http.client's _MAXLINE
MAX_HEADERS = 100  # as http.client's _MAXHEADERS

Timeout = float | tuple[float | None, float | None] | None


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # as in the URL, without brackets
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port)

    @property
    def host_header(self) -> str:
        """As `http.client` writes `Host`: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]  # in the order received, names as sent
    body: bytes  # decoded (Content-Encoding removed)

    @property
    def set_cookie(self) -> bool:
        return any(name.lower() == "set-cookie" for name, _ in self.headers)

    def joined_headers(self) -> dict[str, str]:
        """One value a name, repeats joined with ", " as urllib3's HTTPHeaderDict does (which is
        what `requests.Response.headers` holds)."""
        joined: dict[str, str] = {}
        names: dict[str, str] = {}
        for name, value in self.headers:
            first = names.setdefault(name.lower(), name)
            joined[first] = f"{joined[first]}, {value}" if first in joined else value
        return joined


@functools.cache
def sdk_ssl_context(verify: bool = True) -> ssl.SSLContext:
    """The context `SSLHTTPAdapter.init_poolmanager` (ibm_cloud_sdk_core/http_adapter.py) builds,
    built once: loading the CA bundle costs ~30 ms of CPU, and each SDK client built one in its
    constructor and another for its pool. An SSLContext is safe to share between threads."""
    context = create_urllib3_context()
    context.load_verify_locations(certs.where())  # type: ignore[attr-defined]
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file: BinaryIO = sock.makefile("rb")

    def dropped(self) -> bool:
        """Readable while idle: the server closed it (or sent something unasked); not reusable."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class Pools:
    """Idle keep-alive connections, at most `maxsize` per origin and TLS setting.

    As urllib3's pool with `block=False` (requests' default): a caller never waits for a
    connection; when more are in use than `maxsize`, the extra ones are closed on return rather
    than kept. Thread-safe. `ssl_context(verify)` gives the TLS context (verifying or not).
    """

    def __init__(self, maxsize: int, ssl_context: Callable[[bool], ssl.SSLContext]) -> None:
        self.maxsize = maxsize
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._idle: dict[tuple[Origin, bool], list[_Connection]] = {}
        # Closed when the pool is collected, as urllib3's pool does (`weakref.finalize`): SDK
        # clients are never closed explicitly.
        weakref.finalize(self, _close_all, self._idle)

    def send(
        self,
        origin: Origin,
        head: bytes,
        body: bytes,
        *,
        method: str,
        timeout: Timeout,
        verify: bool,
    ) -> Reply:
        """Write `head` (request line and headers) and `body`; read the answer. Raises
        requests' ConnectionError, ConnectTimeout, ReadTimeout, SSLError or
        ChunkedEncodingError where requests would."""
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout,) * 2
        key = (origin, verify)
        connection = self._take(key) or self._connect(origin, connect_timeout, verify)
        try:
            connection.sock.settimeout(read_timeout)
            reply, reusable = _exchange(connection, head + body, method)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._give(key, connection)
        else:
            connection.close()
        return reply

    def close(self) -> None:
        with self._lock:
            idle = dict(self._idle)
            self._idle.clear()
        _close_all(idle)

    def _take(self, key: tuple[Origin, bool]) -> _Connection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                if not idle:
                    return None
                connection = idle.pop()
            if not connection.dropped():
                return connection
            connection.close()

    def _give(self, key: tuple[Origin, bool], connection: _Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.maxsize:
                idle.append(connection)
                return
        connection.close()

    def _connect(self, origin: Origin, timeout: float | None, verify: bool) -> _Connection:
        where = f"{origin.host}:{origin.port}"
        try:
            sock = socket.create_connection((origin.host, origin.port), timeout=timeout)
        except TimeoutError:
            raise requests.ConnectTimeout(f"connection to {where} timed out") from None
        except OSError as exc:
            raise requests.ConnectionError(f"cannot connect to {where}: {exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # urllib3's default option
        if origin.scheme == "https":
            try:
                sock = self._ssl_context(verify).wrap_socket(sock, server_hostname=origin.host)
            except ssl.SSLError as exc:
                sock.close()
                raise requests.exceptions.SSLError(f"TLS with {where} failed: {exc}") from None
            except TimeoutError:
                sock.close()
                raise requests.ReadTimeout(f"TLS handshake with {where} timed out") from None
            except OSError as exc:
                sock.close()
                raise requests.ConnectionError(f"TLS with {where} failed: {exc}") from None
        return _Connection(sock)


def _close_all(idle: dict[tuple[Origin, bool], list[_Connection]]) -> None:
    for connections in list(idle.values()):
        for connection in connections:
            connection.close()


def _exchange(connection: _Connection, data: bytes, method: str) -> tuple[Reply, bool]:
    """One request and its answer; and whether the connection may carry another."""
    try:
        connection.sock.sendall(data)
        status, reason, version, headers = _read_head(connection.file)
        while 100 <= status < 200:  # an interim answer (100 Continue, 103): the real one follows
            status, reason, version, headers = _read_head(connection.file)
    except TimeoutError:
        raise requests.ReadTimeout("no answer within the read timeout") from None
    except (OSError, ValueError) as exc:
        # urllib3: ProtocolError("Connection aborted.", ...) -> requests.ConnectionError
        raise requests.ConnectionError(f"connection aborted: {exc}") from None
    fields = {name.lower(): value for name, value in headers}
    try:
        raw, delimited = _read_body(connection.file, status, method, fields)
    except TimeoutError:
        # requests' Response.iter_content: urllib3's ReadTimeoutError while reading the body
        raise requests.ConnectionError("read timed out in the response body") from None
    except (OSError, ValueError) as exc:
        raise requests.exceptions.ChunkedEncodingError(f"incomplete response body: {exc}") from None
    body = _decode(raw, fields.get("content-encoding", ""))
    keep = delimited and version == "HTTP/1.1" and "close" not in fields.get("connection", "")
    return Reply(status, reason, headers, body), keep


def _read_head(file: BinaryIO) -> tuple[int, str, str, list[tuple[str, str]]]:
    line = _line(file)
    if not line:
        raise ValueError("the server closed the connection without an answer")
    version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {line[:40]!r}")
    headers: list[tuple[str, str]] = []
    while True:
        text = _line(file).decode("latin-1")
        if text in ("\r\n", "\n", ""):
            return int(code), reason.strip(), version, headers
        if len(headers) >= MAX_HEADERS:
            raise ValueError(f"more than {MAX_HEADERS} headers")
        if text[0] in " \t" and headers:  # obsolete line folding (RFC 9112 5.2)
            name, value = headers.pop()
            headers.append((name, f"{value} {text.strip()}"))
            continue
        name, sep, value = text.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))


def _line(file: BinaryIO) -> bytes:
    line = file.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("header line too long")
    return line


def _read_body(
    file: BinaryIO, status: int, method: str, fields: dict[str, str]
) -> tuple[bytes, bool]:
    """The body as sent (still encoded), and whether its end was delimited (not a close)."""
    if method == "HEAD" or status in (204, 304):
        return b"", True
    if "chunked" in fields.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(_line(file).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while _line(file) not in (b"\r\n", b"\n", b""):  # trailers, ignored as urllib3 does
                    pass
                return b"".join(chunks), True
            chunk = file.read(size)
            if len(chunk) != size or _line(file) not in (b"\r\n", b"\n"):
                raise ValueError("chunk cut short")
            chunks.append(chunk)
    declared = fields.get("content-length")
    if declared is not None:
        length = int(declared.split(",")[0])  # repeated identical values arrive joined
        if length < 0:
            raise ValueError("negative Content-Length")
        body = file.read(length)
        if len(body) != length:
            raise ValueError(f"{len(body)} of {length} bytes")
        return body, True
    return file.read(), False


def _decode(body: bytes, encoding: str) -> bytes:
    """Undo `gzip`/`deflate` as urllib3's decoders do; any other coding is left as received."""
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        try:
            if coding in ("gzip", "x-gzip"):
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:  # raw deflate, which some servers send (urllib3 tries both)
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
            elif coding != "identity":
                break
        except zlib.error as exc:
            raise requests.exceptions.ContentDecodingError(f"{coding} body: {exc}") from None
    return body
