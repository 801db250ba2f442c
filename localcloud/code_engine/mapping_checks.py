"""Code Engine v2: the checks on a domain mapping, its component, and its certificate.

Known real behaviour:
- `name` is a fully qualified domain name (CLI `domainmapping create --domain-name`, docs
  `cmd_defs.md`): terraform-provider-ibm validates it as 1..253 characters of
  `^[a-z0-9]([\\-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([\\-a-z0-9]*[a-z0-9])?)+$` (at least two labels).
  `tls_secret` follows the secret-name rule (`checks.SECRET_NAME`).
- On create "Code Engine validates whether the certificate is signed by a trusted CA, and whether
  the certificate matches the provided custom domain name and private key" (docs
  `app-domainmapping.md` #custom-domain-ui). The chain must be complete from the domain's
  certificate up to the root, signed by a public, trusted CA; self-signed certificates are refused
  (docs `domainmappings.md` #considerations-custom-domain). A certificate may cover several names
  or a wildcard such as `*.example.com` (`app-domainmapping.md`).
- The target is an application or a function (CLI `--target-type`); the API's component refs
  are `app_v2` in IBM's examples.

Unknown, so the stricter choice is made: every label is at most 63 characters and the last one is
not all digits (DNS; an IP address is not a domain); a component `function_v2` is refused (the
emulator has no functions) and so is one naming an app that does not exist (400, like a missing
TLS secret); only `subjectAltName` DNS names count (not the subject CN) and a wildcard covers
exactly one label; a certificate that is not yet valid is refused like an expired one. The
emulator trusts exactly the anchors it was given (`DomainMappings.trust_root`), none by default:
real Code Engine trusts the public CAs, whose certificates tests cannot get.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from localcloud.code_engine.checks import JOB_NAME, SECRET_NAME, check_name, invalid
from localcloud.code_engine.clock import iso

DOMAIN = re.compile(r"^[a-z0-9]([\-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([\-a-z0-9]*[a-z0-9])?)+$")
MAX_DOMAIN, MAX_LABEL = 253, 63
APP, FUNCTION = "app_v2", "function_v2"


def check_domain(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise invalid("'name' is required and must be a non-empty string")
    labels = name.split(".")
    if (
        len(name) > MAX_DOMAIN
        or not DOMAIN.match(name)
        or any(len(label) > MAX_LABEL for label in labels)
        or labels[-1].isdigit()
    ):
        raise invalid(
            f"Invalid 'name' '{name[:64]}': must be a fully qualified domain name of at most "
            f"{MAX_DOMAIN} characters, with lowercase labels of at most {MAX_LABEL} "
            "alphanumerics or '-', such as 'www.example.com'"
        )
    return name


def check_tls_secret_name(value: Any) -> str:
    return check_name(value, SECRET_NAME, 253, "tls_secret")


def check_component(value: Any) -> dict[str, str]:
    """`{"name": ..., "resource_type": "app_v2"}`; anything else is a 400."""
    if not isinstance(value, dict):
        raise invalid(
            "'component' is required and must be an object with 'name' and 'resource_type'"
        )
    unknown = sorted(set(value) - {"name", "resource_type"})
    if unknown:
        raise invalid(f"Unknown field(s) in 'component': {', '.join(unknown)}")
    kind = value.get("resource_type")
    if not isinstance(kind, str) or not kind:
        raise invalid("'component.resource_type' is required and must be a non-empty string")
    if kind == FUNCTION:
        raise invalid("Component resource type 'function_v2' is not supported by this emulator")
    if kind != APP:
        raise invalid(f"Invalid 'component.resource_type' '{kind[:64]}': must be '{APP}'")
    name = check_name(value.get("name"), JOB_NAME, 63, "component.name")
    return {"name": name, "resource_type": kind}


def merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7386) of `patch` onto `current`: null removes, objects merge."""
    result = dict(current)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def check_certificate(
    domain: str,
    secret: str,
    cert_pem: str,
    *,
    now: dt.datetime,
    anchors: Sequence[x509.Certificate],
) -> None:
    """400 unless the chain in `cert_pem` covers `domain`, is valid at `now` and leads to one of
    `anchors`. Messages name the secret, the domain and dates, never the material."""
    chain = x509.load_pem_x509_certificates(cert_pem.encode())  # parsed when the secret was stored
    leaf = chain[0]
    names = dns_names(leaf)
    if not any(covers(pattern, domain) for pattern in names):
        listed = ", ".join(names) or "no DNS names"
        raise invalid(
            f"The certificate in TLS secret '{secret}' does not cover domain '{domain}' "
            f"(it covers {listed})"
        )
    if now > leaf.not_valid_after_utc:
        raise invalid(
            f"The certificate in TLS secret '{secret}' expired at {iso(leaf.not_valid_after_utc)}"
        )
    if now < leaf.not_valid_before_utc:
        raise invalid(
            f"The certificate in TLS secret '{secret}' is not valid before "
            f"{iso(leaf.not_valid_before_utc)}"
        )
    if leaf.issuer == leaf.subject:
        raise invalid(
            f"The certificate in TLS secret '{secret}' is self-signed; custom domains need a "
            "certificate signed by a public, trusted certificate authority"
        )
    why = chain_problem(domain, chain, now, anchors)
    if why is not None:
        raise invalid(
            f"The certificate chain in TLS secret '{secret}' is not signed by a trusted "
            f"certificate authority or is incomplete ({why}); provide the certificate followed "
            "by all intermediate certificates"
        )


def chain_problem(
    domain: str,
    chain: list[x509.Certificate],
    now: dt.datetime,
    anchors: Sequence[x509.Certificate],
) -> str | None:
    """Why the chain does not verify for `domain` at `now` against `anchors`, or None."""
    if not anchors:
        return "the emulator trusts no certificate authority; see DomainMappings.trust_root"
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(now)
        .build_server_verifier(x509.DNSName(domain))
    )
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as exc:
        return str(exc)
    return None


def dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.get_values_for_type(x509.DNSName)]


def covers(pattern: str, domain: str) -> bool:
    """Exact match, or `*.rest` for exactly one label in front of `rest`."""
    if pattern.startswith("*."):
        head, _, rest = domain.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == domain
