"""The test PKI: it lives in `localcloud.pki` (the demo and the bench use it too)."""

from localcloud.pki import (
    CA,
    Chain,
    Issued,
    PrivateKey,
    Profile,
    cert_pem,
    issue,
    key_pem,
    make_chain,
    new_key,
    renew,
)

__all__ = [
    "CA",
    "Chain",
    "Issued",
    "PrivateKey",
    "Profile",
    "cert_pem",
    "issue",
    "key_pem",
    "make_chain",
    "new_key",
    "renew",
]
