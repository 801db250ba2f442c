import dataclasses
import datetime as dt
import json

from job.mappings import SecretMapping
from job.status import (
    MAX_REASON,
    DomainCheck,
    Outcome,
    Result,
    from_data,
    merge,
    to_data,
    with_alerts_sent,
)
from job.status_cli import render_table

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def outcome(target: str = "tls-www", result: Result = Result.UPDATED, **changes) -> Outcome:
    fields = {
        "mapping": SecretMapping("id-1", target),
        "result": result,
        "reason": "the Code Engine secret holds a different certificate",
        "seconds": 0.1,
        "serial": "1a2b",
        "not_after": (NOW + dt.timedelta(days=40)).isoformat(),
    }
    return Outcome(**{**fields, **changes})


def test_a_run_records_each_target_and_keeps_the_others():
    before = merge({}, [outcome("tls-old")], NOW - dt.timedelta(days=1))

    record = merge(before, [outcome("tls-www")], NOW)

    assert sorted(record) == ["tls-old", "tls-www"]
    assert record["tls-old"] == before["tls-old"]
    assert record["tls-www"].changed_at == NOW.isoformat(timespec="seconds")
    assert record["tls-www"].days_left(NOW) == 40


def test_a_current_target_keeps_its_last_change_and_a_failure_its_last_certificate():
    first = merge({}, [outcome()], NOW - dt.timedelta(days=3))
    failed = outcome(result=Result.FAILED, serial=None, not_after=None, reason="HTTP 503")

    record = merge(first, [failed], NOW)

    assert record["tls-www"].changed_at == first["tls-www"].changed_at
    assert (record["tls-www"].serial, record["tls-www"].outcome) == ("1a2b", "failed")


def test_domains_and_alerts_survive_a_round_trip_through_the_config_map():
    check = DomainCheck("www.example.com", True, 0.3, "1a2b", NOW)
    record = with_alerts_sent(merge({}, [outcome(domains=(check,))], NOW), [("tls-www", "x")], NOW)

    data = to_data(record)

    assert list(data) == ["tls-www"]
    assert from_data(data) == record
    assert record["tls-www"].alerted == {"x": "2026-11-28"}


def test_each_entry_is_the_compact_json_of_all_its_fields():
    check = DomainCheck("www.example.com", False, 0.3, None, NOW)
    full = outcome(domains=(check,), source_version="3", target_tag="W/1", valid_until="2027")
    record = with_alerts_sent(merge({}, [full], NOW), [("tls-www", "expiring")], NOW)

    value = to_data(record)["tls-www"]

    assert value == json.dumps(dataclasses.asdict(record["tls-www"]), separators=(",", ":"))


def test_reasons_are_bounded_and_foreign_keys_ignored():
    record = merge({}, [outcome(reason="x" * 5000)], NOW)
    assert len(record["tls-www"].reason) == MAX_REASON
    assert from_data({"note": "kept by a person", "other": "{}"}) == {}


def test_the_table_shows_what_is_not_in_sync():
    record = merge({}, [outcome(), outcome("tls-gone", Result.FAILED, reason="HTTP 404")], NOW)

    table = render_table(record, NOW)

    assert table.splitlines()[0].split() == [
        "TARGET",
        "SECRET",
        "SERIAL",
        "NOT",
        "AFTER",
        "DAYS",
        "OUTCOME",
        "CHANGED",
        "DOMAINS",
    ]
    assert "tls-www" in table
    assert "Not in sync:\n  tls-gone: HTTP 404" in table
