"""Sending a request the SDK built, over asyncio: HTTP/1.1 keep-alive connections, a few at once.

The trigger's background submissions used to run the SDK's blocking `send` (`requests`) in worker
threads. That cost about 1.4 ms of CPU per job run, eight times an acknowledgement, in threads
fighting the event loop for the GIL. Here the same request (method, URL, query, headers, body, as
`BaseService.prepare_request` made and authenticated it) is written on a pooled connection by the
event loop itself, and the answer read back: about a tenth of the CPU, and no threads.

What it does not do, because Code Engine's API never needs it: redirects, proxies, cookies,
`Expect: 100-continue`, response decompression. TLS is set up as the SDK core's `SSLHTTPAdapter`
(ibm_cloud_sdk_core/http_adapter.py) does, by the job's own transport (`shared.transport`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from shared.transport import Origin, sdk_ssl_context

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024


class TransportError(Exception):
    """No usable response: refused, reset, closed early, timed out or malformed."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes


def encode_request(request: Mapping[str, object], origin: Origin) -> bytes:
    """A `prepare_request` dict as HTTP/1.1 bytes. Query parameters are encoded as `requests`
    encodes them (`urlencode`, `doseq`); a header value with CR or LF is refused."""
    parts = urlsplit(str(request["url"]))
    target = parts.path or "/"
    params: Mapping[str, object] = request.get("params") or {}  # type: ignore[assignment]
    query = "&".join(q for q in (parts.query, urlencode(params, doseq=True)) if q)
    if query:
        target = f"{target}?{query}"
    data = request.get("data")
    body = data if isinstance(data, bytes) else (str(data).encode() if data is not None else b"")
    headers: Mapping[str, object] = request.get("headers") or {}  # type: ignore[assignment]
    lines = [f"{request['method']} {target} HTTP/1.1", f"Host: {origin.host_header}"]
    for name, value in headers.items():
        text = f"{name}: {value}"
        if "\r" in text or "\n" in text:
            raise ValueError(f"header {name!r} has a line break")
        if name.lower() not in ("host", "content-length", "connection"):
            lines.append(text)
    lines.append(f"Content-Length: {len(body)}")
    # latin-1: header bytes as `http.client` sends them
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reused: bool = False

    def close(self) -> None:
        self.writer.close()


class ConnectionPool:
    """At most `size` requests in flight at once, each on a kept-alive connection when one is idle.

    `size` is the submission concurrency: callers beyond it wait for a connection here, as
    urllib3's pool would make a thread wait if it blocked, without a thread per waiter. `timeout`
    bounds one whole exchange (connect, send, read the answer); `verify` is the client's
    `disable_ssl_verification`, inverted.
    """

    def __init__(self, size: int, *, timeout: float, verify: bool = True) -> None:
        self.size = size
        self.timeout = timeout
        self.verify = verify
        self._ssl_context: ssl.SSLContext | None = None  # made at the first https connection
        self._idle: dict[Origin, list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None  # made on the loop that uses it

    async def send(self, request: Mapping[str, object]) -> Response:
        """Send one request the SDK prepared; raise TransportError when no answer came back."""
        origin = Origin.of(str(request["url"]))
        raw = encode_request(request, origin)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(origin, raw)
            except TimeoutError:
                raise TransportError(f"no answer within {self.timeout} s") from None

    async def _exchange(self, origin: Origin, raw: bytes) -> Response:
        connection = await self._connection(origin)
        try:
            try:
                response, keep = await _round_trip(connection, raw)
            except _StaleConnection:
                # A kept-alive connection the server had closed before answering anything: sent
                # once more on a new connection (as urllib3 does). Safe for creating a job run:
                # its name is deterministic, so a second copy is answered 409.
                connection = await self._connect(origin)
                response, keep = await _round_trip(connection, raw)
        except BaseException:
            connection.close()
            raise
        if keep:
            connection.reused = True
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return response

    async def _connection(self, origin: Origin) -> _Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.writer.is_closing() and not connection.reader.at_eof():
                return connection
            connection.close()
        return await self._connect(origin)

    async def _connect(self, origin: Origin) -> _Connection:
        context = None
        if origin.scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = sdk_ssl_context(verify=self.verify)
            context = self._ssl_context
        try:
            reader, writer = await asyncio.open_connection(
                origin.host, origin.port, ssl=context, limit=MAX_HEADER_BYTES
            )
        except OSError as exc:
            raise TransportError(f"cannot connect to {origin.host_header}: {exc}") from None
        return _Connection(reader, writer)

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()


class _StaleConnection(Exception):
    pass


async def _round_trip(connection: _Connection, raw: bytes) -> tuple[Response, bool]:
    try:
        connection.writer.write(raw)
        await connection.writer.drain()
        head = await connection.reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        connection.close()
        if connection.reused and not getattr(exc, "partial", b""):
            raise _StaleConnection from None
        raise TransportError(f"connection closed before an answer: {type(exc).__name__}") from None
    except asyncio.LimitOverrunError:
        raise TransportError("response headers too large") from None
    except OSError as exc:
        raise TransportError(f"connection failed: {type(exc).__name__}") from None
    status, version, headers = _parse_head(head)
    try:
        body, until_close = await _read_body(connection.reader, status, headers)
    except (asyncio.IncompleteReadError, OSError, ValueError) as exc:
        raise TransportError(f"incomplete response body: {type(exc).__name__}") from None
    keep = not until_close and version == "HTTP/1.1" and headers.get("connection") != "close"
    return Response(status, headers, body), keep


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise TransportError(f"not an HTTP/1.x response: {lines[0][:40]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(code), version, headers


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: dict[str, str]
) -> tuple[bytes, bool]:
    """The body, and whether it ran until the server closed the connection."""
    if status in (204, 304) or 100 <= status < 200:
        return b"", False
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            length = int(line.split(b";", 1)[0].strip(), 16)
            if length == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks), False
            size += length
            if size > MAX_BODY_BYTES:
                raise ValueError("body too large")
            chunks.append(await reader.readexactly(length))
            await reader.readexactly(2)
    declared = headers.get("content-length")
    if declared is not None:
        length = int(declared)
        if not 0 <= length <= MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return await reader.readexactly(length), False
    return await reader.read(MAX_BODY_BYTES), True
