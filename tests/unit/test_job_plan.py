import datetime as dt

from cryptography.hazmat.primitives import serialization

from job.certs import TlsBundle, build_bundle
from job.plan import Action, CurrentTarget, plan
from tests.builders import source_certificate
from tests.pki import make_chain, renew

NOW = dt.datetime.now(dt.UTC)


def bundle_of(chain) -> TlsBundle:
    return build_bundle(source_certificate(chain), NOW)


def current_of(bundle: TlsBundle, **changes) -> CurrentTarget:
    fields = {
        "name": "tls-web",
        "entity_tag": "7",
        "format": "tls",
        "tls_cert": bundle.cert_pem,
        "tls_key": bundle.key_pem,
    }
    return CurrentTarget(**{**fields, **changes})


def test_missing_target_is_created():
    assert plan(bundle_of(make_chain()), None).action is Action.CREATE


def test_same_chain_and_key_is_nothing():
    bundle = bundle_of(make_chain())
    decision = plan(bundle, current_of(bundle))
    assert decision.action is Action.NOTHING
    assert decision.current_serial == bundle.serial


def test_newer_certificate_replaces_with_the_tag_just_read():
    old = make_chain(days=30)
    new = bundle_of(renew(old, days=90))
    decision = plan(new, current_of(bundle_of(old), entity_tag="42"))
    assert decision.action is Action.REPLACE
    assert decision.if_match == "42"


def test_same_leaf_with_a_different_chain_replaces():
    chain = make_chain()
    bundle = bundle_of(chain)
    decision = plan(bundle, current_of(bundle, tls_cert=chain.leaf_pem))
    assert decision.action is Action.REPLACE


def test_same_issuance_expiring_earlier_is_a_refused_downgrade():
    held = make_chain(days=300)
    candidate = bundle_of(renew(held, days=30, not_before=held.leaf.cert.not_valid_before_utc))
    decision = plan(candidate, current_of(bundle_of(held)))
    assert decision.action is Action.REFUSE
    assert "downgrade" in decision.reason
    assert decision.if_match is None


def test_newer_issue_expiring_earlier_replaces():
    """A re-issue (new CA, re-key, shorter profile) is newer even when it expires first."""
    held = make_chain(days=365, not_before=NOW - dt.timedelta(days=30))
    candidate = bundle_of(renew(held, days=47, not_before=NOW - dt.timedelta(hours=1)))
    assert candidate.not_after < held.leaf.cert.not_valid_after_utc

    decision = plan(candidate, current_of(bundle_of(held), entity_tag="9"))

    assert decision.action is Action.REPLACE
    assert decision.if_match == "9"
    assert decision.rollback is False


def test_older_issue_expiring_later_is_a_refused_downgrade():
    held = make_chain(days=30, not_before=NOW - dt.timedelta(hours=1))
    candidate = bundle_of(renew(held, days=365, not_before=NOW - dt.timedelta(days=30)))

    decision = plan(candidate, current_of(bundle_of(held)))

    assert decision.action is Action.REFUSE
    assert "newer certificate" in decision.reason
    assert "--allow-rollback" in decision.reason


def test_an_older_certificate_replaces_only_with_allow_rollback():
    held = make_chain(days=90, not_before=NOW - dt.timedelta(hours=1))
    candidate = bundle_of(renew(held, days=90, not_before=NOW - dt.timedelta(days=10)))

    decision = plan(candidate, current_of(bundle_of(held), entity_tag="5"), allow_rollback=True)

    assert decision.action is Action.REPLACE
    assert decision.rollback is True
    assert decision.if_match == "5"
    assert "rolling back" in decision.reason


def test_allow_rollback_changes_nothing_for_a_newer_certificate():
    held = make_chain(days=90, not_before=NOW - dt.timedelta(days=10))
    candidate = bundle_of(renew(held, days=90, not_before=NOW - dt.timedelta(hours=1)))

    decision = plan(candidate, current_of(bundle_of(held)), allow_rollback=True)

    assert decision.action is Action.REPLACE
    assert decision.rollback is False


def test_non_tls_target_is_refused():
    bundle = bundle_of(make_chain())
    decision = plan(bundle, current_of(bundle, format="generic"))
    assert decision.action is Action.REFUSE
    assert "format 'generic'" in decision.reason


def test_unreadable_target_is_replaced():
    bundle = bundle_of(make_chain())
    decision = plan(bundle, current_of(bundle, tls_cert="garbage"))
    assert decision.action is Action.REPLACE


def test_target_without_data_is_replaced():
    bundle = bundle_of(make_chain())
    decision = plan(bundle, current_of(bundle, tls_cert=None, tls_key=None))
    assert decision.action is Action.REPLACE


def test_the_same_key_written_another_way_is_still_the_same_key():
    chain = make_chain()
    bundle = bundle_of(chain)
    traditional = chain.leaf.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert traditional.strip() != bundle.key_pem.strip()
    assert plan(bundle, current_of(bundle, tls_key=traditional)).action is Action.NOTHING


def test_a_different_key_replaces():
    bundle = bundle_of(make_chain())
    other = bundle_of(make_chain())
    decision = plan(bundle, current_of(bundle, tls_key=other.key_pem))
    assert decision.action is Action.REPLACE
