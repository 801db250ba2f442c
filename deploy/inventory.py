"""`deploy inventory`'s core: what the account holds in, findings out. Pure: no I/O, `now` is a
parameter.

Facts are what the adapter (`deploy/inventory_read.py`) read: the Code Engine projects, their TLS
secrets (with their data) and domain mappings (with what each domain served over TLS), and the
Secrets Manager certificates' list metadata. Findings say, per TLS secret: its certificate, whether
a certsync mapping manages it (the config's, or a certificate's `certsync_targets` when the job
discovers them), what its domains serve, and, when nothing manages it, which Secrets Manager
certificates could feed it (`same_certificate`: the same serial; `newer_covering`: one that
expires later and whose names cover every domain that uses the secret, or the secret's own names
when no domain does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from deploy.inventory_facts import DomainFact, Facts, Place, SmCertificate, TlsSecret
from job.certs import CertificateRejected, check_key_matches, order_chain, parse_certificates
from job.discovery import targets_of
from job.domains import dns_names, name_covers
from job.mappings import SecretMapping

SAME, NEWER = "same_certificate", "newer_covering"


@dataclass(frozen=True)
class Candidate:
    secret_id: str
    name: str
    rule: str  # SAME or NEWER


@dataclass(frozen=True)
class DomainFinding:
    domain: str
    app: str
    serves_secret: bool
    served_serial: str | None
    reason: str | None = None  # why it does not serve the secret


@dataclass(frozen=True)
class SecretFinding:
    place: Place
    name: str
    subject: str
    sans: tuple[str, ...]
    issuer: str
    serial: str
    not_after: dt.datetime | None
    days_left: int | None
    key_matches: bool
    chain_complete: bool
    managed: bool
    at_risk: bool
    domains: tuple[DomainFinding, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    uncovered: tuple[Candidate, ...] = ()  # newer certificates whose names do not cover
    problem: str | None = None  # the data is no certificate: nothing else is known


@dataclass(frozen=True)
class Summary:
    projects: int
    secrets: int
    managed: int
    unmanaged: int
    at_risk: int


@dataclass(frozen=True)
class Inventory:
    secrets: tuple[SecretFinding, ...]  # worst first
    summary: Summary
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Managing:
    """Which TLS secrets certsync manages: (region, project id, name) -> the source's id."""

    targets: dict[tuple[str, str, str], str]
    certificates: dict[str, SmCertificate] = field(default_factory=dict)

    def source(self, place: Place, name: str) -> SmCertificate | None:
        secret_id = self.targets.get((place.region, place.project, name))
        return None if secret_id is None else self.certificates.get(secret_id)


def managing(
    mappings: Iterable[SecretMapping],
    home: tuple[str, str],
    certificates: Sequence[SmCertificate],
    *,
    discovery_label: str | None,
    own: Iterable[str] = (),
) -> Managing:
    """The targets of the config's `mappings` ("" project and region: `home`'s), and, with a
    `discovery_label` (the job discovers), those the labelled certificates declare. `own`:
    certsync's own TLS secrets in the home project (the canary's), managed by certsync itself."""
    region, project = home
    targets: dict[tuple[str, str, str], str] = {(region, project, name): "" for name in own}
    declared = list(mappings)
    for cert in certificates:
        if discovery_label is None or discovery_label not in cert.labels:
            continue
        try:
            declared += targets_of(cert.secret_id, cert.custom_metadata)
        except ValueError:
            continue  # malformed: the job fails it, it manages nothing
    for m in declared:
        key = (m.region or region, (m.project or project).lower(), m.target)
        targets.setdefault(key, m.secret_id)
    return Managing(targets, {c.secret_id: c for c in certificates})


def inventory(
    facts: Facts,
    managed: Managing,
    now: dt.datetime,
    *,
    warn_days: int,
    roots: Sequence[x509.Certificate] = (),
) -> Inventory:
    """Every TLS secret's finding, worst first (fewest days left; unreadable ones first)."""
    judged = _Judged(now, warn_days, tuple(roots))
    by_secret: dict[tuple[Place, str], list[DomainFact]] = {}
    for d in facts.domains:
        by_secret.setdefault((d.place, d.tls_secret), []).append(d)
    findings = [
        _finding(s, by_secret.get((s.place, s.name), []), facts, managed, judged)
        for s in facts.secrets
    ]
    findings.sort(key=lambda f: (f.days_left is not None, f.days_left or 0, f.place, f.name))
    total_managed = sum(f.managed for f in findings)
    summary = Summary(
        projects=len(facts.places),
        secrets=len(findings),
        managed=total_managed,
        unmanaged=len(findings) - total_managed,
        at_risk=sum(f.at_risk for f in findings),
    )
    return Inventory(tuple(findings), summary, facts.problems)


@dataclass(frozen=True)
class _Judged:
    """What a finding is judged against: the time, the warning window, the trusted roots."""

    now: dt.datetime
    warn_days: int
    roots: tuple[x509.Certificate, ...]


def _finding(
    secret: TlsSecret, domains: list[DomainFact], facts: Facts, managed: Managing, judged: _Judged
) -> SecretFinding:
    is_managed = (secret.place.region, secret.place.project, secret.name) in managed.targets
    what = f"TLS secret '{secret.name}'"
    try:
        certs = parse_certificates(secret.tls_cert, what)
    except CertificateRejected as exc:
        return SecretFinding(
            secret.place, secret.name, "", (), "", "", None, None, False, False, is_managed,
            at_risk=bool(domains) and not is_managed, problem=str(exc),
        )  # fmt: skip
    leaf = certs[0]
    not_after = leaf.not_valid_after_utc
    left = (not_after - judged.now).days
    checks = tuple(_domain(d, leaf) for d in domains)
    source = managed.source(secret.place, secret.name)
    renewed = is_managed and (source is None or _later(source.not_after, not_after))
    needed = [d.domain for d in domains] or dns_names(leaf)
    candidates: tuple[Candidate, ...] = ()
    uncovered: tuple[Candidate, ...] = ()
    if not is_managed:
        candidates, uncovered = _candidates(leaf, needed, facts.certificates)
    return SecretFinding(
        place=secret.place,
        name=secret.name,
        subject=_name(leaf.subject),
        sans=tuple(dns_names(leaf)),
        issuer=_name(leaf.issuer),
        serial=format(leaf.serial_number, "x"),
        not_after=not_after,
        days_left=left,
        key_matches=_key_matches(leaf, secret.tls_key),
        chain_complete=_chain_complete(leaf, certs[1:], judged.roots),
        managed=is_managed,
        at_risk=bool(domains) and left < judged.warn_days and not renewed,
        domains=checks,
        candidates=candidates,
        uncovered=uncovered,
    )


def _name(name: x509.Name) -> str:
    """`CN=www.example.com, O=Example` with the values as written (no RFC 4514 escapes: what a
    person reads; every output escapes for its own format)."""
    return ", ".join(f"{a.rfc4514_attribute_name}={a.value!s}" for a in reversed(list(name)))


def _later(first: dt.datetime | None, than: dt.datetime) -> bool:
    return first is not None and first > than


def _domain(fact: DomainFact, leaf: x509.Certificate) -> DomainFinding:
    served = fact.served
    if served is None:
        return DomainFinding(fact.domain, fact.app, False, None, fact.served_error)
    serial = format(served.serial_number, "x")
    if served == leaf:
        return DomainFinding(fact.domain, fact.app, True, serial)
    return DomainFinding(fact.domain, fact.app, False, serial, f"serves serial {serial}")


def _candidates(
    leaf: x509.Certificate, needed: Sequence[str], certificates: Sequence[SmCertificate]
) -> tuple[tuple[Candidate, ...], tuple[Candidate, ...]]:
    """(candidates, newer certificates whose names do not cover `needed`)."""
    found: list[Candidate] = []
    uncovered: list[Candidate] = []
    for cert in certificates:
        if cert.serial == leaf.serial_number:
            found.append(Candidate(cert.secret_id, cert.name, SAME))
        elif _later(cert.not_after, leaf.not_valid_after_utc):
            covers = bool(needed) and all(
                any(name_covers(n, d) for n in cert.names) for d in needed
            )
            (found if covers else uncovered).append(Candidate(cert.secret_id, cert.name, NEWER))
    found.sort(key=lambda c: (c.rule != SAME, c.name, c.secret_id))
    return tuple(found), tuple(uncovered)


def _key_matches(leaf: x509.Certificate, key_pem: str) -> bool:
    """Whether the key's public half is the leaf's. RSA keys are loaded without cryptography's
    consistency check (~70 ms of CPU each): only their public half is compared here."""
    try:
        key = serialization.load_pem_private_key(
            key_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        check_key_matches(leaf, key, "")  # type: ignore[arg-type]  # X25519/X448 fail below
    except (ValueError, TypeError, CertificateRejected, AttributeError):
        return False
    return True


def _chain_complete(
    leaf: x509.Certificate, rest: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> bool:
    """The secret holds the path from the leaf to a root in `roots` (the root itself may be
    left out, as servers send chains), with nothing that does not belong to it."""
    try:
        chain = order_chain(leaf, list(rest), "")
    except CertificateRejected:
        return False
    last = chain[-1]
    for root in roots:
        if root.subject != last.issuer:
            continue
        try:
            last.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False
