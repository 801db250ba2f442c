"""Whatever arrives at `POST /events`: never a 5xx, and no job run without a 202 and the token.

`make test` tries a few hundred requests; `make test-deep` (HYPOTHESIS_PROFILE=deep, run by CI)
tries thousands.
"""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.builders import WEBHOOK_HEADERS as AUTH
from tests.builders import WEBHOOK_TOKEN as TOKEN
from tests.builders import notification, trigger_app

# Header names a client sends as they are (RFC 9110 token characters), minus the framing ones.
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect", "te", "upgrade"}
header_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
    min_size=1,
    max_size=20,
).filter(lambda name: name.lower() not in FRAMING)
# Values a client sends (as latin-1 bytes): no control characters, no edge whitespace.
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
).map(str.strip)
TOKENS = [AUTH["Authorization"], f"bearer {TOKEN}"]  # what the app accepts
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/cloudevents+json"]

T = TypeVar("T")


@st.composite
def either(draw: st.DrawFn, likely: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> T:
    """`likely` half the time, `other` the rest (which may draw the likely values too)."""
    return draw(likely if draw(st.booleans()) else other)


authorization = st.one_of(
    st.just(AUTH["Authorization"]),
    st.just(f"bearer {TOKEN}"),
    st.just(f"Bearer {TOKEN[:-1]}"),
    st.just(f"Basic {TOKEN}"),
    header_values,
    st.none(),
)
content_types = st.one_of(
    st.sampled_from(JSON_TYPES),
    st.sampled_from(["text/plain", "application/xml", "multipart/form-data", ""]),
    header_values,
    st.none(),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Paths into a notification whose values get replaced by arbitrary JSON.
PATHS: list[tuple[Any, ...]] = [
    ("id",),
    ("notification_id",),
    ("type",),
    ("data",),
    ("data", "event_type"),
    ("data", "secrets"),
    ("data", "secrets", 0),
    ("data", "secrets", 0, "secret_id"),
    ("data", "secrets", 0, "secret_name"),
    ("data", "secrets", 0, "secret_expiration"),
    ("data", "source_instance_crn"),
]
EVENTS = ["secret_rotated", "test_event", "secret_expired", "secret_created", "nonsense"]


@st.composite
def mutated_notifications(draw: st.DrawFn) -> bytes:
    body = copy.deepcopy(notification(draw(either(st.just(EVENTS[0]), st.sampled_from(EVENTS)))))
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=3)):
        replace(body, path, draw(json_values))
    return json.dumps(body).encode()


def replace(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set `value` at `path` if the path still leads somewhere (earlier changes may cut it)."""
    target: Any = body
    for key in path[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    fits_dict = isinstance(target, dict) and isinstance(last, str)
    fits_list = isinstance(target, list) and isinstance(last, int) and last < len(target)
    if fits_dict or fits_list:
        target[last] = value


bodies = either(
    mutated_notifications(),
    st.one_of(st.binary(max_size=512), json_values.map(lambda value: json.dumps(value).encode())),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def _never_a_5xx(data: st.DataObject, client: TestClient, accepted: set[str]) -> None:
    headers = data.draw(st.dictionaries(header_names, header_values, max_size=4))
    # Half the requests pass the token and content-type checks, so that their bodies (valid
    # notifications half the time) reach the accepting path; the other half may be anything.
    auth: str | None
    ctype: str | None
    if data.draw(st.booleans()):
        auth, ctype = data.draw(st.sampled_from(TOKENS)), data.draw(st.sampled_from(JSON_TYPES))
    else:
        auth, ctype = data.draw(authorization), data.draw(content_types)
    for name, value in (("Authorization", auth), ("Content-Type", ctype)):
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = value
    body = data.draw(bodies)

    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    response = client.post("/events", content=body, headers=raw_headers)

    assert response.status_code < 500, response.text
    assert response.status_code in {200, 202, 400, 401, 413, 415}, response.status_code
    if auth not in (AUTH["Authorization"], f"bearer {TOKEN}"):
        assert response.status_code == 401
    if response.status_code == 202:
        accepted.add(response.json()["job_run"])


def test_arbitrary_requests_never_get_a_5xx_nor_start_an_unacknowledged_run() -> None:
    app, fake, submitter = trigger_app()
    accepted: set[str] = set()

    with TestClient(app) as client:
        _never_a_5xx(client=client, accepted=accepted)

    submitted = {name for name, _ in fake.calls}
    assert accepted  # the strategies do reach the accepting path
    assert submitted == accepted  # a run for each 202, and only for a 202
    assert submitter.in_flight == frozenset()
