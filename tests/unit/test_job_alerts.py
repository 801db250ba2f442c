import datetime as dt

from job.alerts import alerts_for, due
from job.mappings import SecretMapping
from job.status import Condition, DomainCheck, Outcome, Result, merge, with_alerts_sent

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def outcome(result: Result = Result.CURRENT, days: int = 60, **changes) -> Outcome:
    fields = {
        "mapping": SecretMapping("id-1", "tls-www"),
        "result": result,
        "reason": "why",
        "seconds": 0.1,
        "serial": "1a2b",
        "not_after": (NOW + dt.timedelta(days=days, hours=1)).isoformat(),
        "secret_type": "imported_cert",
    }
    return Outcome(**{**fields, **changes})


def conditions(o: Outcome, **options) -> list[str]:
    return [a.condition.value for a in alerts_for(o, NOW, warn_days=21, **options)]


def test_a_healthy_current_target_raises_nothing():
    assert conditions(outcome()) == []


def test_each_condition_has_its_own_alert_about_one_target():
    assert conditions(outcome(Result.FAILED)) == ["mapping_failed"]
    assert conditions(outcome(Result.REJECTED)) == ["certificate_rejected"]
    assert conditions(outcome(Result.REFUSED)) == ["target_refused"]
    assert conditions(outcome(Result.UPDATED)) == []
    assert conditions(outcome(Result.UPDATED), on_update=True) == ["certificate_updated"]
    stale = DomainCheck("www.example.com", False, 600, "99", None, "still serves serial 99")
    assert conditions(outcome(Result.FAILED, domains=(stale,))) == ["domain_stale"]
    assert {c.type for c in Condition} == {
        "com.ibm.certsync.mapping.failed",
        "com.ibm.certsync.certificate.rejected",
        "com.ibm.certsync.write.refused",  # the condition `target_refused`, as README documents
        "com.ibm.certsync.domain.stale",
        "com.ibm.certsync.certificate.expiring",
        "com.ibm.certsync.certificate.updated",
    }
    [refused] = alerts_for(outcome(Result.REFUSED), NOW, warn_days=21)
    assert (refused.type, refused.severity) == ("com.ibm.certsync.write.refused", "MEDIUM")


def test_expiry_below_the_threshold_alerts_whatever_else_happened():
    [alert] = alerts_for(outcome(days=10), NOW, warn_days=21)
    assert alert.type == "com.ibm.certsync.certificate.expiring"
    assert alert.data["days_left"] == 10
    assert "cannot renew by itself" in alert.long
    assert conditions(outcome(Result.FAILED, days=10)) == ["mapping_failed", "certificate_expiring"]


def test_a_served_certificate_close_to_expiry_alerts_too():
    served = DomainCheck("www.example.com", True, 0.1, "1a2b", NOW + dt.timedelta(days=5))
    assert conditions(outcome(domains=(served,))) == ["certificate_expiring"]


def test_an_alert_already_sent_today_is_not_due_again_but_tomorrow_it_is():
    alerts = alerts_for(outcome(Result.FAILED), NOW, warn_days=21)
    record = with_alerts_sent(
        merge({}, [outcome(Result.FAILED)], NOW), [("tls-www", "mapping_failed")], NOW
    )

    assert due(alerts, {}, NOW) == alerts
    assert due(alerts, record, NOW) == []
    assert due(alerts, record, NOW + dt.timedelta(days=1)) == alerts
