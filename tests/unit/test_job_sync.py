import datetime as dt

import pytest

from job.certs import TlsBundle
from job.mappings import SecretMapping
from job.plan import CurrentTarget
from job.run import run_all
from job.secrets_manager import FetchOnce
from job.status import Result
from job.sync import Site, Syncer
from shared.errors import ConflictError, NotFoundError
from tests.builders import SECRET_ID, source_certificate
from tests.pki import make_chain, renew

MAPPING = SecretMapping(SECRET_ID, "tls-web")


class Targets:
    """An in-memory Code Engine secret store with entity tags, and a log of writes."""

    def __init__(self, conflicts: int = 0) -> None:
        self.secrets: dict[str, CurrentTarget] = {}
        self.writes: list[tuple[str, str, str | None]] = []
        self.conflicts = conflicts

    def get(self, name):
        return self.secrets.get(name)

    def _store(self, name, bundle: TlsBundle) -> str:
        tag = str(len(self.writes))
        self.secrets[name] = CurrentTarget(name, tag, "tls", bundle.cert_pem, bundle.key_pem)
        return tag

    def create(self, name, bundle):
        self.writes.append(("create", name, None))
        return self._store(name, bundle)

    def replace(self, name, bundle, if_match):
        self.writes.append(("replace", name, if_match))
        if self.conflicts:
            self.conflicts -= 1
            raise ConflictError("stale", status=412)
        return self._store(name, bundle)


def syncer(source, targets):
    def fetch(secret_id):
        if isinstance(source, Exception):
            raise source
        return source

    return Syncer(fetch, lambda _: Site(targets))


def test_first_sync_creates_then_nothing_to_do():
    chain, targets = make_chain(), Targets()
    first = syncer(source_certificate(chain), targets).sync(MAPPING)
    second = syncer(source_certificate(chain), targets).sync(MAPPING)
    assert (first.result, second.result) == (Result.CREATED, Result.CURRENT)
    assert targets.writes == [("create", "tls-web", None)]


def test_rotation_replaces_with_if_match_and_reports_serials():
    old, targets = make_chain(days=30), Targets()
    syncer(source_certificate(old), targets).sync(MAPPING)
    new = renew(old)
    outcome = syncer(source_certificate(new), targets).sync(MAPPING)
    assert outcome.result is Result.UPDATED
    assert (outcome.previous_serial, outcome.serial) == (old.serial_hex, new.serial_hex)
    assert targets.writes[-1] == ("replace", "tls-web", "1")


def test_conflict_rereads_and_retries():
    old, targets = make_chain(days=30), Targets()
    syncer(source_certificate(old), targets).sync(MAPPING)
    targets.conflicts = 1
    outcome = syncer(source_certificate(renew(old)), targets).sync(MAPPING)
    assert outcome.result is Result.UPDATED
    assert [w[0] for w in targets.writes] == ["create", "replace", "replace"]


def test_endless_conflicts_fail():
    old, targets = make_chain(days=30), Targets()
    syncer(source_certificate(old), targets).sync(MAPPING)
    targets.conflicts = 10
    assert syncer(source_certificate(renew(old)), targets).sync(MAPPING).result is Result.FAILED


def test_invalid_certificate_never_reaches_code_engine():
    targets = Targets()
    outcome = syncer(
        source_certificate(make_chain(), private_key=make_chain().key_pem), targets
    ).sync(MAPPING)
    assert outcome.result is Result.REJECTED
    assert "'tls-web' left unchanged" in outcome.reason
    assert targets.writes == []


def test_missing_secret_fails_without_writes():
    targets = Targets()
    outcome = syncer(
        NotFoundError("get Secrets Manager secret 'id-1' failed with HTTP 404"), targets
    ).sync(MAPPING)
    assert outcome.result is Result.FAILED
    assert targets.writes == []


def test_fetch_once_reads_each_secret_once_across_mappings():
    calls = []
    chain = make_chain()

    def fetch(secret_id):
        calls.append(secret_id)
        return source_certificate(chain)

    mappings = [SecretMapping("id-1", f"tls-{i}") for i in range(5)]
    result = run_all(mappings, Syncer(FetchOnce(fetch), lambda _: Site(Targets())), concurrency=4)
    assert calls == ["id-1"]
    assert [o.result for o in result.outcomes] == [Result.CREATED] * 5
    assert result.exit_code == 0


def test_fetch_once_shares_failures_too():
    calls = []

    def fetch(secret_id):
        calls.append(secret_id)
        raise NotFoundError("gone")

    once = FetchOnce(fetch)
    for _ in range(2):
        with pytest.raises(NotFoundError):
            once("x")
    assert calls == ["x"]


def test_one_failure_makes_exit_code_one_but_others_finish():
    chain = make_chain()
    good = SecretMapping("good", "tls-good")
    bad = SecretMapping("bad", "tls-bad")

    def fetch(secret_id):
        if secret_id == "bad":
            raise NotFoundError("gone")
        return source_certificate(chain, secret_id=secret_id)

    result = run_all([bad, good], Syncer(fetch, lambda _: Site(Targets())), concurrency=2)
    assert [o.result for o in result.outcomes] == [Result.FAILED, Result.CREATED]
    assert result.exit_code == 1
    assert result.counts()["failed"] == 1


def test_clock_is_a_parameter():
    chain, targets = make_chain(days=10), Targets()
    later = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=20)  # noqa: E731
    assert (
        Syncer(lambda _: source_certificate(chain), lambda _: Site(targets), clock=later)
        .sync(MAPPING)
        .result
        is Result.REJECTED
    )


@pytest.mark.parametrize(
    ("result", "event", "ok"),
    [
        (Result.CREATED, "target_created", True),
        (Result.UPDATED, "target_updated", True),
        (Result.CURRENT, "target_current", True),
        (Result.REJECTED, "certificate_rejected", False),
        (Result.REFUSED, "target_refused", False),
        (Result.FAILED, "mapping_failed", False),
    ],
)
def test_each_result_knows_its_log_event_and_whether_it_is_ok(result, event, ok):
    assert (result.event, result.ok) == (event, ok)


def test_an_update_reports_what_code_engine_held_before():
    old = make_chain(days=30)
    targets = Targets()
    syncer(source_certificate(old), targets).sync(MAPPING)

    outcome = syncer(source_certificate(renew(old, days=90)), targets).sync(MAPPING)

    assert outcome.result is Result.UPDATED
    assert outcome.previous_serial == format(old.leaf.cert.serial_number, "x")
    assert outcome.previous_not_after == old.leaf.cert.not_valid_after_utc.isoformat()
