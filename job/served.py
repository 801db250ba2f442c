"""What a custom domain actually serves: a TLS handshake with SNI, and the leaf it presents.

`CERTSYNC_CONNECT_TO` (`job.variables.ConnectTo`) redirects the connection for a name; the SNI
and the name checked stay the domain. Without a matching entry the domain is resolved as usual,
port 443.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence

from cryptography import x509

from job.variables import ConnectTo
from shared.errors import RetryableError

HTTPS_PORT = 443


def address_for(domain: str, connect_to: Sequence[ConnectTo]) -> tuple[str, int]:
    """Where a TLS connection for `domain` goes: the first matching entry, else DNS and 443."""
    for entry in connect_to:
        if entry.matches(domain.lower(), HTTPS_PORT):
            return entry.to_host or domain, entry.to_port or HTTPS_PORT
    return domain, HTTPS_PORT


class ServedCertificates:
    """Connects to a domain and returns the leaf certificate it serves for that name."""

    def __init__(self, connect_to: Sequence[ConnectTo] = (), timeout: float = 10.0) -> None:
        self._connect_to = tuple(connect_to)
        self._timeout = timeout
        # Trust is not judged here: the chain was verified before it was written, and what is
        # compared is the leaf itself, byte for byte. So the handshake must not refuse to finish,
        # and the context needs no CA store: built once, it is shared by every handshake
        # (`ssl.create_default_context` loads the system's CAs, ~50 ms of CPU each time).
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE

    def leaf(self, domain: str) -> x509.Certificate:
        """The served leaf; RetryableError when nothing answers or the handshake fails."""
        host, port = address_for(domain, self._connect_to)
        context = self._context
        try:
            with (
                socket.create_connection((host, port), timeout=self._timeout) as sock,
                context.wrap_socket(sock, server_hostname=domain) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError) as exc:
            raise RetryableError(
                f"TLS connection to {domain!r} ({host}:{port}) failed: {type(exc).__name__}"
            ) from None
        if not der:
            raise RetryableError(f"{domain!r} ({host}:{port}) presented no certificate")
        return x509.load_der_x509_certificate(der)
