"""job/alerts.py: expiring TLS secrets no mapping manages, their alerts, their record entries."""

from __future__ import annotations

import datetime as dt

from job.alerts import (
    UNMANAGED,
    UnmanagedSecret,
    due,
    note_unmanaged,
    unmanaged_alerts,
    unmanaged_expiring,
)
from job.status import with_alerts_sent

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
PROJECT = "66666666-2222-4333-8444-555555555555"


def unmanaged(name: str, days: int, project: str = "", region: str = "") -> UnmanagedSecret:
    when = NOW + dt.timedelta(days=days, hours=1)
    return UnmanagedSecret(name, project, region, "1a2b", when, "CN=x (serial 1a2b)")


def test_only_those_within_the_window_alert_naming_them_unmanaged() -> None:
    found = [unmanaged("tls-soon", 5), unmanaged("tls-late", 60)]
    close = unmanaged_expiring(found, NOW, warn_days=21)
    assert [(s.name, left) for s, left in close] == [("tls-soon", 5)]
    (alert,) = unmanaged_alerts(close)
    assert alert.type == "com.ibm.certsync.certificate.expiring"
    assert "unmanaged TLS secret 'tls-soon' expires in 5 days" in alert.short
    assert alert.data["unmanaged"] is True
    assert alert.data["days_left"] == 5
    assert "python -m deploy adopt" in alert.long


def test_the_key_is_the_one_a_mapping_of_it_would_have() -> None:
    assert unmanaged("tls-a", 5).key == "tls-a"
    assert unmanaged("tls-a", 5, PROJECT, "eu-de").key == f"eu-de.{PROJECT}.tls-a"


def test_alerts_are_claimed_once_a_day_in_the_record() -> None:
    close = unmanaged_expiring([unmanaged("tls-soon", 5)], NOW, warn_days=21)
    record = note_unmanaged({}, close, NOW)
    assert record["tls-soon"].outcome == UNMANAGED
    raised = unmanaged_alerts(close)
    sent = with_alerts_sent(
        record, [(a.target, a.condition.value) for a in due(raised, record, NOW)], NOW
    )
    again = note_unmanaged(sent, close, NOW + dt.timedelta(hours=3))
    assert due(unmanaged_alerts(close), again, NOW + dt.timedelta(hours=3)) == []
    assert due(unmanaged_alerts(close), again, NOW + dt.timedelta(days=1)) != []
