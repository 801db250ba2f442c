from dataclasses import replace

from job.rollout import DomainMapping, Rollout
from shared.errors import PermanentError, RetryableError
from tests.builders import FakeClock
from tests.pki import make_chain, renew

OLD = make_chain("www.example.com")
NEW = renew(OLD)


class Mappings:
    """Domain mappings of one project as plain data; `refresh` moves them to `after_refresh`."""

    def __init__(self, *mappings: DomainMapping, after_refresh: str = "ready") -> None:
        self.mappings = {m.name: m for m in mappings}
        self.after_refresh = after_refresh
        self.refreshed: list[tuple[str, str]] = []

    def for_secret(self, tls_secret):
        return tuple(m for m in self.mappings.values() if m.tls_secret == tls_secret)

    def refresh(self, mapping):
        self.refreshed.append((mapping.name, mapping.entity_tag))
        updated = replace(mapping, entity_tag=mapping.entity_tag + "+", status="deploying")
        self.mappings[mapping.name] = updated
        return updated

    def get(self, name):
        current = self.mappings[name]
        self.mappings[name] = replace(current, status=self.after_refresh, reason="no route")
        return current


class Served:
    """Serves `old` until `switch_after` probes of a domain, then `new` (or never)."""

    def __init__(self, switch_after: int | None = 0, fail: int = 0) -> None:
        self.switch_after = switch_after
        self.fail = fail
        self.probes: dict[str, int] = {}

    def leaf(self, domain):
        self.probes[domain] = self.probes.get(domain, 0) + 1
        if self.fail:
            self.fail -= 1
            raise RetryableError(f"TLS connection to {domain!r} failed: ConnectionRefusedError")
        switched = self.switch_after is not None and self.probes[domain] > self.switch_after
        return (NEW if switched else OLD).leaf.cert


def mapping(name: str = "www.example.com", secret: str = "tls-www") -> DomainMapping:
    return DomainMapping(name, secret, "7", "ready")


def rollout(mappings, served, clock, timeout=600.0):
    return Rollout(mappings, served, timeout=timeout, sleep=clock.sleep, clock=clock)


def test_after_a_write_each_domain_is_refreshed_with_its_tag_and_verified():
    clock, mappings = FakeClock(), Mappings(mapping(), mapping("shop.example.com"))
    served = Served(switch_after=2)

    checks = rollout(mappings, served, clock).after_write("tls-www", NEW.leaf.cert)

    assert [(c.domain, c.verified) for c in checks] == [
        ("www.example.com", True),
        ("shop.example.com", True),
    ]
    assert mappings.refreshed == [("www.example.com", "7"), ("shop.example.com", "7")]
    assert checks[0].served_serial == format(NEW.leaf.cert.serial_number, "x")
    assert checks[0].seconds > 0  # it waited for the new certificate to propagate


def test_a_domain_still_serving_the_old_certificate_after_the_bound_is_stale():
    clock = FakeClock()

    [check] = rollout(
        Mappings(mapping()), Served(switch_after=None), clock, timeout=60
    ).after_write("tls-www", NEW.leaf.cert)

    assert not check.verified
    assert check.served_serial == format(OLD.leaf.cert.serial_number, "x")
    assert check.reason == f"still serves serial {check.served_serial}"
    assert 60 <= clock.now <= 61
    assert max(clock.slept) <= 15


def test_a_mapping_that_fails_is_reported_with_its_reason():
    clock = FakeClock()
    mappings = Mappings(mapping(), after_refresh="failed")

    [check] = rollout(mappings, Served(), clock).after_write("tls-www", NEW.leaf.cert)

    assert not check.verified
    assert check.reason == "domain mapping is 'failed': no route"


def test_a_refresh_refused_is_reported_not_raised():
    class Refusing(Mappings):
        def refresh(self, mapping):
            raise PermanentError("refresh domain mapping 'www.example.com' failed with HTTP 403")

    [check] = rollout(Refusing(mapping()), Served(), FakeClock()).after_write(
        "tls-www", NEW.leaf.cert
    )

    assert not check.verified
    assert "HTTP 403" in check.reason


def test_a_full_run_check_needs_no_api_call_when_the_domain_serves_the_certificate():
    mappings, served = Mappings(mapping()), Served(switch_after=0)

    [check] = rollout(mappings, served, FakeClock()).check("tls-www", NEW.leaf.cert)

    assert check.verified
    assert mappings.refreshed == []
    assert served.probes == {"www.example.com": 1}


def test_a_full_run_heals_a_domain_that_never_picked_up_the_certificate():
    mappings, served = Mappings(mapping()), Served(switch_after=1)

    [check] = rollout(mappings, served, FakeClock()).check("tls-www", NEW.leaf.cert)

    assert check.verified
    assert mappings.refreshed == [("www.example.com", "7")]


def test_connection_failures_are_retried_until_the_bound():
    clock = FakeClock()

    [check] = rollout(Mappings(mapping()), Served(fail=100), clock, timeout=30).after_write(
        "tls-www", NEW.leaf.cert
    )

    assert not check.verified
    assert "ConnectionRefusedError" in check.reason
    assert check.served_serial is None


def test_a_target_no_domain_uses_has_nothing_to_check():
    assert (
        rollout(Mappings(mapping()), Served(), FakeClock()).after_write("tls-api", NEW.leaf.cert)
        == []
    )
