import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from shared.logging import WITHHELD, configure_logging, redact_secrets

PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJpYW0tU2VydmljZUlkIn0.c2lnbmF0dXJl"


SDK_LOGGERS = ("ibm_cloud_sdk_core", "urllib3", "requests")


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in SDK_LOGGERS}
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event)))


@pytest.mark.parametrize(
    "value",
    [
        PEM,
        KEY,
        f"could not parse {PEM}",
        JWT,
        f"token={JWT}",
        "Bearer abcdefgh12345678",
        "Authorization: bearer abcdefgh12345678",
    ],
)
def test_secret_material_is_withheld(value: str) -> None:
    assert redact(event="secret_fetched", value=value) == {
        "event": "secret_fetched",
        "value": WITHHELD,
    }


@pytest.mark.parametrize(
    "value",
    [
        "tls-web",
        "0b5571f7-21e6-42b7-91c5-3f5ac9793a46",
        "crn:v1:bluemix:public:secrets-manager:us-south:a/acct:inst:secret:id",
        "BEGIN CERTIFICATE",
        "bearer",
        "eyJ-not-a-token",
        "2026-03-01T12:00:00Z",
    ],
)
def test_ordinary_values_are_left_alone(value: str) -> None:
    assert redact(value=value) == {"value": value}


def test_non_string_values_are_left_alone() -> None:
    assert redact(count=3, ok=True, missing=None) == {"count": 3, "ok": True, "missing": None}


def test_nested_secret_material_is_withheld() -> None:
    event = redact(headers={"Authorization": f"Bearer {JWT}", "Accept": "json"}, chain=[PEM, "x"])
    assert event == {
        "headers": {"Authorization": WITHHELD, "Accept": "json"},
        "chain": [WITHHELD, "x"],
    }


def test_the_event_itself_is_redacted() -> None:
    assert redact(event=f"got {PEM}") == {"event": WITHHELD}


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_line_with_level_timestamp_and_context() -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    structlog.contextvars.bind_contextvars(notification_id="n-1", jobrun="certsync-run-1")
    structlog.get_logger().info("target_updated", target="tls-web")
    (line,) = lines(out)
    assert line["event"] == "target_updated"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert line["target"] == "tls-web"
    assert line["notification_id"] == "n-1"
    assert line["jobrun"] == "certsync-run-1"


@pytest.mark.parametrize(
    ("method", "level"), [("info", "info"), ("warning", "warning"), ("error", "error")]
)
def test_json_line_carries_what_ibm_cloud_logs_reads(method: str, level: str) -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    getattr(structlog.get_logger(), method)("target_updated", target="tls-web")
    (line,) = lines(out)
    assert line["message"] == "target_updated"
    assert line["level"] == level
    when = dt.datetime.fromisoformat(line["timestamp"])
    assert when.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(minutes=5)


def test_json_line_is_redacted() -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    structlog.get_logger().info("secret_fetched", certificate=PEM)
    (line,) = lines(out)
    assert line["certificate"] == WITHHELD
    assert "BEGIN" not in out.getvalue()


class Opaque:
    def __repr__(self) -> str:
        return f"Opaque({PEM!r})"


@pytest.mark.parametrize(
    "fields",
    [
        {"target": "tls-web", "count": 3, "ids": ["a", "b"], "ok": True, "none": None},
        {"certificate": PEM},
        {"nested": {"chain": [KEY, "x"], "id": "n-1"}, "pair": ("x", JWT)},
        {"header": "Bearer\tabcdefgh12345678"},  # JSON writes the tab as \t
        {"header": "BEARER\u00a0abcdefgh12345678"},  # and this space as \u00a0
        {"error": Opaque()},
        {"alarm": "eyJ but no token; bearer; -----BEGIN"},  # looks close, withholds nothing
        {"café": "naïve ☃ \ud800"},
    ],
)
def test_a_json_line_is_the_line_of_redacting_every_value_then_rendering(
    fields: dict[str, Any],
) -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    structlog.get_logger().info("checked", **fields)
    (line,) = lines(out)

    expected = redact(event="checked", **fields)
    rendered = {k: line[k] for k in expected}
    assert rendered == json.loads(json.dumps(expected, default=repr))
    for secret in (PEM, KEY, JWT, "abcdefgh12345678"):
        assert secret not in out.getvalue()


def test_json_is_chosen_when_the_stream_is_not_a_tty() -> None:
    out = io.StringIO()
    configure_logging(stream=out)
    structlog.get_logger().info("run_finished")
    assert lines(out)[0]["event"] == "run_finished"


def test_console_renderer_on_request() -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=False)
    structlog.get_logger().info("run_finished", targets=2)
    text = out.getvalue()
    assert "run_finished" in text
    assert "targets=2" in text
    assert not text.startswith("{")


def test_level_filters_below_it() -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True, level=logging.WARNING)
    log = structlog.get_logger()
    log.info("target_current")
    log.warning("certificate_rejected")
    assert [line["event"] for line in lines(out)] == ["certificate_rejected"]


def test_exceptions_are_rendered_into_the_line() -> None:
    out = io.StringIO()
    configure_logging(stream=out, json=True)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger().exception("run_failed")
    (line,) = lines(out)
    assert line["level"] == "error"
    assert "RuntimeError: boom" in line["exception"]


def test_sdk_loggers_are_kept_quiet() -> None:
    configure_logging(stream=io.StringIO(), json=True)
    for name in SDK_LOGGERS:
        assert logging.getLogger(name).level == logging.WARNING


def test_objects_whose_repr_carries_a_secret_are_withheld():
    error = ValueError("-----BEGIN PRIVATE KEY-----")
    assert redact_secrets(None, "info", {"error": error}) == {"error": WITHHELD}
    assert redact_secrets(None, "info", {"count": 3}) == {"count": 3}
