"""The Code Engine router: a real TLS server on loopback that serves, by SNI, the certificate of
the TLS secret that the domain mapping for that name references.

What it serves is what a ready domain mapping has published (`DomainMappings.route`): nothing for
an unknown name, a mapping that never became ready, or a failed one; the handshake then ends with
an `unrecognized_name` alert. While an update deploys, the previous configuration stays served, as
an ingress keeps its routes while it reconciles. After the handshake, any HTTP request gets a short
200 and the connection closes.

Modes, set globally (`router.mode = ...`) or per domain (`router.set_mode(mode, domain=...)`):
- `propagation` (default): the secret's content as of `propagation_seconds` ago (0: immediate).
  The edge's copy lags the API; a secret too new to have propagated serves nothing.
- `stale_until_mapping_update`: the content as it was when the mapping was last created or
  updated, until the mapping is updated again (any PATCH, even a no-op one), as knative/serving
  #14142 reports for net-kourier before v1.11: a replaced secret was not picked up.
- `fail_on_update`: each create or update while this mode holds ends `failed`, with
  `status_details.reason` = `fail_reason`, and the router stops serving the domain.

`handshake_latency` (seconds, 0 by default) holds each connection before its handshake, as a
faraway edge would: for benchmarks, beside the API's `faults.latency_all`.

Delays are real seconds (`time.monotonic`), not the project's clock: a client waits for them.
Python's `ssl` loads certificates only from files: each chain and key is written to a private
directory (0700, files 0600), loaded, and unlinked at once; the directory goes at `stop()`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socketserver
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PROPAGATION, STALE, FAIL = "propagation", "stale_until_mapping_update", "fail_on_update"
MODES = (PROPAGATION, STALE, FAIL)
HISTORY = 32  # versions of each secret the edge remembers
MAX_CONTEXTS = 128
IO_TIMEOUT = 5.0  # seconds a connection may take for its handshake and its request
_BODY = b"localcloud Code Engine router\n"
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


@dataclass(frozen=True)
class Material:
    """A certificate chain and its key as a TLS secret holds them; the key never in a repr."""

    cert_pem: str
    key_pem: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.cert_pem}\0{self.key_pem}".encode()).hexdigest()


@dataclass(frozen=True)
class Route:
    """What a ready domain mapping published: its secret, and that secret as of its last
    create or update."""

    secret: str
    snapshot: Material


def _no_routes(domain: str) -> Route | None:
    return None


class Router:
    def __init__(self) -> None:
        self.routes: Callable[[str], Route | None] = _no_routes  # domain -> published route
        self._lock = threading.Lock()
        self._mode = PROPAGATION
        self._domain_modes: dict[str, str] = {}
        self._history: dict[str, list[tuple[float, Material]]] = {}
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._dir: str | None = None
        self.propagation_seconds = 0.0
        self.handshake_latency = 0.0  # seconds each connection waits before its handshake
        self.fail_reason = "IngressNotConfigured"  # a Knative reason; Code Engine's undocumented
        self.host = "127.0.0.1"
        self.port = 0

    # -- modes ------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = _checked(value)

    def set_mode(self, mode: str | None, *, domain: str) -> None:
        """The mode of one domain, over the global one; None: follow the global mode again."""
        with self._lock:
            if mode is None:
                self._domain_modes.pop(domain, None)
            else:
                self._domain_modes[domain] = _checked(mode)

    def mode_for(self, domain: str) -> str:
        with self._lock:
            return self._domain_modes.get(domain, self._mode)

    # -- what the edge has seen of each TLS secret --------------------------------------------
    def secret_written(self, name: str, material: Material | None) -> None:
        """Called on every write of a TLS secret (None: deleted)."""
        with self._lock:
            if material is None:
                self._history.pop(name, None)
                return
            versions = self._history.setdefault(name, [])
            versions.append((time.monotonic(), material))
            del versions[:-HISTORY]

    def served(self, domain: str) -> Material | None:
        """What a handshake for `domain` gets now, or None (unrecognized name)."""
        route = self.routes(domain)
        if route is None:
            return None
        if self.mode_for(domain) == STALE:
            return route.snapshot
        cutoff = time.monotonic() - self.propagation_seconds
        with self._lock:
            versions = self._history.get(route.secret, [])
            seen = [material for at, material in versions if at <= cutoff]
        return seen[-1] if seen else None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._dir = tempfile.mkdtemp(prefix="localcloud-router-")  # mode 0700
        server = _Server((host, port), _Connection)
        server.router = self
        self._server = server
        self.host, self.port = server.socket.getsockname()[:2]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="localcloud-router",
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        with self._lock:
            self._contexts.clear()

    # -- TLS ----------------------------------------------------------------------------------
    def server_context(self) -> ssl.SSLContext:
        """The context every connection starts with: no certificate, only the SNI callback."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.sni_callback = self._pick
        return context

    def _pick(self, conn: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> int | None:
        try:
            domain = (server_name or "").lower().rstrip(".")
            material = self.served(domain) if domain else None
            if material is None:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            conn.context = self._context(material)
        except Exception:  # an SNI callback must not raise: OpenSSL would only say "failed"
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    def _context(self, material: Material) -> ssl.SSLContext:
        key = material.fingerprint
        with self._lock:
            found = self._contexts.get(key)
            if found is not None:
                return found
            if self._dir is None:
                raise RuntimeError("the router is not running")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert_path, key_path = (os.path.join(self._dir, f"{key}.{x}") for x in ("crt", "key"))
            try:
                _write_private(cert_path, material.cert_pem)
                _write_private(key_path, material.key_pem)
                context.load_cert_chain(cert_path, key_path)
            finally:
                for path in (cert_path, key_path):
                    if os.path.exists(path):
                        os.unlink(path)
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.clear()
            self._contexts[key] = context
            return context


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    router: Router


class _Connection(socketserver.BaseRequestHandler):
    """One client: the handshake (the SNI callback picks the certificate), then one HTTP answer."""

    def handle(self) -> None:
        assert isinstance(self.server, _Server)
        raw = self.request
        raw.settimeout(IO_TIMEOUT)
        if self.server.router.handshake_latency:
            time.sleep(self.server.router.handshake_latency)
        try:
            with self.server.router.server_context().wrap_socket(raw, server_side=True) as tls:
                if _read_head(tls):
                    tls.sendall(ANSWER)
        except (ssl.SSLError, OSError):
            pass  # a refused handshake or a client that went away: nothing to answer


def _read_head(tls: ssl.SSLSocket) -> bytes:
    """The request head, or b"" when the client sends nothing and closes."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _checked(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"router mode {mode!r}: must be one of {', '.join(MODES)}")
    return mode
