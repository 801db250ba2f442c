"""deploy/inventory.py, inventory_render.py and adopt.py: facts in, findings and proposals out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy import adopt, inventory_render
from deploy.inventory import NEWER, SAME, Inventory, inventory, managing
from deploy.inventory_facts import DomainFact, Facts, Place, SmCertificate, TlsSecret
from job.mappings import SecretMapping
from tests.pki import Chain, make_chain, renew

NOW = dt.datetime.now(dt.UTC)
HOME = Place("us-south", "11111111-2222-4333-8444-555555555555", "certsync")
AWAY = Place("eu-de", "66666666-2222-4333-8444-555555555555", "sites-eu")


def secret(chain: Chain, name: str = "tls-web", place: Place = HOME) -> TlsSecret:
    return TlsSecret(place, name, chain.leaf_pem + chain.intermediate_pem, chain.key_pem)


def in_sm(chain: Chain, secret_id: str, **changes: Any) -> SmCertificate:
    """The list metadata Secrets Manager gives for `chain` (serial as colon-separated hex)."""
    cert = chain.leaf.cert
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, "big")
    body = {
        "id": secret_id,
        "name": f"{secret_id}-name",
        "serial_number": ":".join(f"{b:02x}" for b in serial),
        "expiration_date": cert.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "common_name": cert.subject.rfc4514_string().removeprefix("CN="),
        "alt_names": [cert.subject.rfc4514_string().removeprefix("CN=")],
        **changes,
    }
    return SmCertificate.from_metadata(body)


def domain(
    chain: Chain, name: str, *, serves: Chain | None = None, target: str = "tls-web"
) -> DomainFact:
    return DomainFact(HOME, name, "web", target, (serves or chain).leaf.cert)


@dataclass(frozen=True)
class Scan:
    """How the inventory is taken: the job's discovery label, the warning window, the roots."""

    label: str | None = None
    warn_days: int = 21
    roots: tuple[Any, ...] = ()


def take(
    secrets: list[TlsSecret],
    domains: list[DomainFact] = (),  # type: ignore[assignment]
    certificates: list[SmCertificate] = (),  # type: ignore[assignment]
    mappings: list[SecretMapping] = (),  # type: ignore[assignment]
    scan: Scan = Scan(),
) -> Inventory:
    facts = Facts((HOME, AWAY), tuple(secrets), tuple(domains), tuple(certificates))
    place = (HOME.region, HOME.project)
    managed = managing(mappings, place, certificates, discovery_label=scan.label)
    return inventory(facts, managed, NOW, warn_days=scan.warn_days, roots=scan.roots)


def test_the_same_certificate_in_secrets_manager_is_a_candidate_by_serial() -> None:
    chain = make_chain("www.example.com", days=30)
    found = take([secret(chain)], [domain(chain, "www.example.com")], [in_sm(chain, "a")])
    (f,) = found.secrets
    assert not f.managed
    assert f.key_matches
    assert f.days_left == 29
    assert [(c.secret_id, c.rule) for c in f.candidates] == [("a", SAME)]
    assert f.domains[0].serves_secret


def test_a_newer_certificate_must_cover_every_domain_that_uses_the_secret() -> None:
    chain = make_chain("www.example.com", days=10)
    newer = renew(chain, days=90)
    domains = [domain(chain, "www.example.com"), domain(chain, "shop.example.com")]
    narrow = in_sm(newer, "narrow")
    wide = in_sm(newer, "wide", alt_names=["*.example.com"])
    (f,) = take([secret(chain)], domains, [narrow, wide]).secrets
    assert [(c.secret_id, c.rule) for c in f.candidates] == [("wide", NEWER)]
    assert [c.secret_id for c in f.uncovered] == ["narrow"]


def test_an_older_certificate_is_no_candidate() -> None:
    chain = make_chain("www.example.com", days=60)
    older = renew(chain, days=10)
    (f,) = take([secret(chain)], [], [in_sm(older, "old")]).secrets
    assert f.candidates == ()
    assert f.uncovered == ()


def test_managed_by_the_config_in_its_own_place_or_by_discovery_when_the_job_discovers() -> None:
    chain = make_chain(days=60)
    away = secret(chain, "tls-away", AWAY)
    mappings = [SecretMapping("abc", "tls-web")]
    target = {"target": "tls-away", "project": AWAY.project, "region": "eu-de"}
    declared = in_sm(
        chain, "d", labels=["certsync"], custom_metadata={"certsync_targets": [target]}
    )
    without = take([secret(chain), away], certificates=[declared], mappings=mappings)
    assert {f.name: f.managed for f in without.secrets} == {"tls-web": True, "tls-away": False}
    discovering = take(
        [secret(chain), away],
        certificates=[declared],
        mappings=mappings,
        scan=Scan(label="certsync"),
    )
    assert all(f.managed for f in discovering.secrets)
    assert discovering.summary.managed == 2
    assert discovering.summary.unmanaged == 0


def test_at_risk_needs_a_domain_the_warning_window_and_nothing_renewing_it() -> None:
    soon = make_chain("www.example.com", days=5)
    unserved = secret(make_chain("idle.example.com", days=5), "tls-idle")
    found = take([secret(soon), unserved], [domain(soon, "www.example.com")])
    assert {f.name: f.at_risk for f in found.secrets} == {"tls-web": True, "tls-idle": False}
    renewed_in_sm = in_sm(renew(soon, days=90), "src")
    mapped = [SecretMapping("src", "tls-web")]
    managed = take([secret(soon)], [domain(soon, "www.example.com")], [renewed_in_sm], mapped)
    assert managed.secrets[0].managed
    assert not managed.secrets[0].at_risk
    stuck = take([secret(soon)], [domain(soon, "www.example.com")], [in_sm(soon, "src")], mapped)
    assert stuck.secrets[0].at_risk  # its source expires as soon: the mapping renews nothing
    assert not take(
        [secret(soon)], [domain(soon, "www.example.com")], scan=Scan(warn_days=3)
    ).summary.at_risk


def test_a_domain_serving_another_certificate_is_flagged_with_its_serial() -> None:
    chain = make_chain(days=60)
    other = renew(chain, days=30)
    (f,) = take([secret(chain)], [domain(chain, "www.example.com", serves=other)]).secrets
    (d,) = f.domains
    assert not d.serves_secret
    assert d.served_serial == other.serial_hex


def test_key_and_chain_checks() -> None:
    chain = make_chain(days=60)
    stranger = make_chain(days=60)
    wrong_key = dataclasses.replace(secret(chain), tls_key=stranger.key_pem)
    only_leaf = TlsSecret(HOME, "tls-leaf", chain.leaf_pem, chain.key_pem)
    found = take([wrong_key, only_leaf], scan=Scan(roots=(chain.root.cert,)))
    by = {f.name: f for f in found.secrets}
    assert not by["tls-web"].key_matches
    assert by["tls-web"].chain_complete
    assert by["tls-leaf"].key_matches
    assert not by["tls-leaf"].chain_complete


def test_worst_first_and_the_summary_line() -> None:
    late, soon = make_chain("a.example.com", days=80), make_chain("b.example.com", days=7)
    found = take(
        [secret(late, "tls-late"), secret(soon, "tls-soon")],
        [
            domain(soon, "b.example.com", target="tls-soon"),
            domain(late, "a.example.com", target="tls-late"),
        ],
    )
    assert [f.name for f in found.secrets] == ["tls-soon", "tls-late"]
    assert inventory_render.summary_line(found) == (
        "2 TLS secrets in 2 projects: 0 managed, 2 unmanaged, "
        "1 expires in 6 days and nothing renews it"
    )
    assert inventory_render.to_dict(found)["summary"]["at_risk"] == 1


def test_adopt_proposes_only_what_is_unambiguous() -> None:
    chain = make_chain("www.example.com", days=10)
    newer = renew(chain, days=90)
    lone = make_chain("lone.example.com", days=10)
    wide = make_chain("wide.example.com", days=10)
    found = take(
        [secret(chain), secret(lone, "tls-lone"), secret(wide, "tls-wide")],
        certificates=[
            in_sm(chain, "same"),
            in_sm(newer, "newer"),  # the same certificate wins over a newer one
            in_sm(renew(wide, days=90), "w1"),
            in_sm(renew(wide, days=90), "w2"),
            in_sm(renew(lone, days=90), "other", alt_names=["else.example.com"]),
        ],
    )
    chosen, unmatched = adopt.proposals(found)
    assert [(p.finding.name, p.candidate.secret_id) for p in chosen] == [("tls-web", "same")]
    assert chosen[0].mapping() == {
        "secret": "same", "target": "tls-web", "project": HOME.project, "region": "us-south",
    }  # fmt: skip
    reasons = {u.finding.name: u.reason for u in unmatched}
    assert reasons == {"tls-wide": adopt.SEVERAL, "tls-lone": adopt.NOT_COVERED}
    assert adopt.proposals(take([secret(lone, "tls-lone")]))[1][0].reason == adopt.NO_CANDIDATE


def test_adopt_write_appends_and_keeps_comments_order_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "certsync.yaml"
    path.write_text(
        "# ours\nname: certsync  # short\nmappings:\n  # the site\n  - secret: a\n"
        "    target: tls-a\ndelivery: webhook\n"
    )
    chain = make_chain(days=10)
    found = take([secret(chain)], certificates=[in_sm(chain, "s1")])
    adopt.write(path, adopt.proposals(found)[0])
    assert path.read_text() == (
        "# ours\nname: certsync  # short\nmappings:\n  # the site\n  - secret: a\n"
        "    target: tls-a\n  - secret: s1\n    target: tls-web\n"
        f"    project: {HOME.project}\n    region: us-south\ndelivery: webhook\n"
    )


def test_certsyncs_own_secrets_are_managed() -> None:
    chain = make_chain(days=5)
    facts = Facts((HOME,), (secret(chain, "certsync-canary"),), (), ())
    managed = managing([], (HOME.region, HOME.project), [], discovery_label=None,
                       own=["certsync-canary"])  # fmt: skip
    (f,) = inventory(facts, managed, NOW, warn_days=21).secrets
    assert f.managed
    assert adopt.proposals(inventory(facts, managed, NOW, warn_days=21)) == ([], [])
