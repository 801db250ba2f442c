"""The canary's pure parts: its certificate and how a report reads."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from deploy import canary_setup as canary_cert
from deploy.canary_report import HOPS, CanaryReport, Hop, canary_text

NOW = dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)


def test_the_canary_certificate_is_short_lived_self_signed_and_new_each_time() -> None:
    first, key = canary_cert.make_certificate("certsync-canary", NOW)
    second, _ = canary_cert.make_certificate("certsync-canary", NOW)
    cert = x509.load_pem_x509_certificate(first.encode())
    assert cert.subject == cert.issuer
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - NOW == canary_cert.LIFETIME
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["certsync-canary.certsync.invalid"]
    assert canary_cert.serial_of(first) != canary_cert.serial_of(second)
    assert canary_cert.serial_of(first) == format(cert.serial_number, "x")
    assert "PRIVATE KEY" in key


def test_destroy_recognises_only_the_canarys_own_certificate() -> None:
    pem, _ = canary_cert.make_certificate("certsync-canary", NOW)
    assert canary_cert.is_canary(pem, "certsync-canary")
    assert not canary_cert.is_canary(pem, "other-canary")
    user, _ = canary_cert.make_certificate("certsync-canary-x", NOW)  # another name, same shape
    assert not canary_cert.is_canary(user, "certsync-canary")
    assert not canary_cert.is_canary("not a certificate", "certsync-canary")
    assert not canary_cert.is_canary("", "certsync-canary")


def report(*oks: bool) -> CanaryReport:
    return CanaryReport(
        tuple(
            Hop(hop, ok, 1.5 if ok else None, "fine" if ok else "why")
            for hop, ok in zip(HOPS, oks, strict=True)
        )
    )


def test_a_report_is_ok_only_when_every_hop_is() -> None:
    assert report(True, True, True, True).ok
    assert not report(True, True, True, False).ok
    assert not CanaryReport(()).ok


def test_the_text_has_one_line_per_hop_and_names_the_first_failure() -> None:
    text = canary_text(report(True, False, False, False))
    lines = text.splitlines()
    assert [ln.split()[:3] for ln in lines if ln.split()[:1] == ["rotated"]] == [
        ["rotated", "ok", "1.50"]
    ]
    assert [ln.split()[:2] for ln in lines if ln.split()[:1] == ["delivered"]] == [
        ["delivered", "FAIL"]
    ]
    assert lines[-1] == "Canary failed at 'delivered'."
    assert canary_text(report(True, True, True, True)).endswith("every hop happened.")


def test_the_json_form_names_each_hop() -> None:
    body = report(True, True, True, False).to_dict()
    assert body["ok"] is False
    assert [h["hop"] for h in body["hops"]] == list(HOPS)
    assert body["hops"][3] == {"hop": "synced", "ok": False, "seconds": None, "detail": "why"}
