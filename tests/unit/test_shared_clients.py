import threading
import time
import types
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
import requests
from ibm_cloud_sdk_core import ApiException, DetailedResponse
from ibm_cloud_sdk_core.authenticators import ContainerAuthenticator, IAMAuthenticator
from ibm_cloud_sdk_core.token_managers import token_manager as token_manager_module

from shared.clients import (
    CODE_ENGINE_API_VERSION,
    RetryableIAMTokenManager,
    RetryablePacing,
    build_authenticator,
    code_engine_client,
    secrets_manager_client,
)
from shared.errors import PermanentError, RetryableError
from shared.retry import RetryPolicy
from shared.sdk import call_api
from shared.settings import EnvReader, SecretValue, ServiceAuth, read_service_auth

PREFIX = "SECRETS_MANAGER"
APIKEY = "very-secret-api-key"
IAM = {f"{PREFIX}_AUTH_TYPE": "iam", f"{PREFIX}_APIKEY": APIKEY}
CONTAINER = {f"{PREFIX}_AUTH_TYPE": "container", f"{PREFIX}_IAM_PROFILE_NAME": "certsync"}


def read(environ: Mapping[str, str | None]) -> tuple[ServiceAuth, list[str]]:
    env = EnvReader({k: v for k, v in environ.items() if v is not None})
    return read_service_auth(env, PREFIX), env.problems


def test_iam_with_apikey() -> None:
    auth, problems = read({**IAM, f"{PREFIX}_AUTH_URL": "https://iam.local"})
    assert problems == []
    assert auth.auth_type == "iam"
    assert auth.apikey is not None
    assert auth.apikey.reveal() == APIKEY
    assert auth.auth_url == "https://iam.local"


def test_auth_type_is_case_insensitive() -> None:
    auth, problems = read({**IAM, f"{PREFIX}_AUTH_TYPE": "IAM"})
    assert problems == []
    assert auth.auth_type == "iam"


def test_apikey_alone_implies_iam() -> None:
    auth, problems = read({**IAM, f"{PREFIX}_AUTH_TYPE": None})
    assert problems == []
    assert auth.auth_type == "iam"


def test_apikey_never_in_repr() -> None:
    auth, _ = read(IAM)
    assert APIKEY not in repr(auth)
    assert APIKEY not in str(auth)


def test_iam_without_apikey() -> None:
    _, problems = read({**IAM, f"{PREFIX}_APIKEY": None})
    assert problems == [f"{PREFIX}_APIKEY is not set, and {PREFIX}_AUTH_TYPE is 'iam'."]


def test_container_with_profile_name() -> None:
    auth, problems = read({**CONTAINER, f"{PREFIX}_CR_TOKEN_FILENAME": "/var/run/token"})
    assert problems == []
    assert auth.auth_type == "container"
    assert auth.profile_name == "certsync"
    assert auth.cr_token_filename == "/var/run/token"
    assert auth.apikey is None


def test_container_with_profile_id() -> None:
    environ = {
        **CONTAINER,
        f"{PREFIX}_IAM_PROFILE_NAME": None,
        f"{PREFIX}_IAM_PROFILE_ID": "iam-Profile-1",
    }
    auth, problems = read(environ)
    assert problems == []
    assert auth.profile_id == "iam-Profile-1"


def test_container_without_profile() -> None:
    _, problems = read({**CONTAINER, f"{PREFIX}_IAM_PROFILE_NAME": None})
    assert problems == [
        f"{PREFIX}_IAM_PROFILE_NAME (or {PREFIX}_IAM_PROFILE_ID) is not set, "
        f"and {PREFIX}_AUTH_TYPE is 'container'."
    ]


def test_missing_auth_type_names_the_variable() -> None:
    auth, problems = read({})
    assert auth.auth_type == ""
    assert len(problems) == 1
    assert problems[0].startswith(f"{PREFIX}_AUTH_TYPE is not set")
    assert f"{PREFIX}_IAM_PROFILE_NAME" in problems[0]
    assert f"{PREFIX}_APIKEY" in problems[0]


def test_unknown_auth_type() -> None:
    _, problems = read({**IAM, f"{PREFIX}_AUTH_TYPE": "basic"})
    assert problems == [f"{PREFIX}_AUTH_TYPE has value 'basic'. Supported: 'container', 'iam'."]


def test_build_iam_authenticator() -> None:
    auth = ServiceAuth(PREFIX, "iam", apikey=SecretValue(APIKEY), auth_url="https://iam.local")
    authenticator = build_authenticator(auth)
    assert isinstance(authenticator, IAMAuthenticator)
    assert isinstance(authenticator.token_manager, RetryablePacing)
    assert authenticator.token_manager.apikey == APIKEY
    assert authenticator.token_manager.url == "https://iam.local"


def test_build_container_authenticator() -> None:
    auth = ServiceAuth(PREFIX, "container", profile_name="certsync", cr_token_filename="/tmp/none")
    authenticator = build_authenticator(auth)
    assert isinstance(authenticator, ContainerAuthenticator)
    assert isinstance(authenticator.token_manager, RetryablePacing)
    assert authenticator.token_manager.iam_profile_name == "certsync"
    assert authenticator.token_manager.cr_token_filename == "/tmp/none"


def test_code_engine_client() -> None:
    auth = ServiceAuth(PREFIX, "iam", apikey=SecretValue(APIKEY))
    client = code_engine_client("https://ce.local/v2", auth, timeout=12.0)
    assert client.service_url == "https://ce.local/v2"
    assert client.version == CODE_ENGINE_API_VERSION
    assert client.http_config == {"timeout": 12.0}
    assert isinstance(client.authenticator, IAMAuthenticator)


def test_secrets_manager_client() -> None:
    auth = ServiceAuth(PREFIX, "container", profile_name="certsync")
    client = secrets_manager_client("https://sm.local", auth, timeout=5.0)
    assert client.service_url == "https://sm.local"
    assert client.http_config == {"timeout": 5.0}
    assert isinstance(client.authenticator, ContainerAuthenticator)


@pytest.mark.parametrize("auth_type", ["iam", "container"])
def test_clients_do_not_enable_sdk_retries(auth_type: str) -> None:
    auth = ServiceAuth(PREFIX, auth_type, apikey=SecretValue(APIKEY), profile_name="certsync")
    client = code_engine_client("https://ce.local/v2", auth, timeout=5.0)
    assert client.retry_config is None


def test_the_sdk_still_validates_the_credentials() -> None:
    auth = ServiceAuth(PREFIX, "iam", apikey=SecretValue(f'"{APIKEY}"'))
    with pytest.raises(ValueError, match="quotes"):
        build_authenticator(auth)


class FailingTokenRequests(RetryableIAMTokenManager):
    """An IAM token manager whose first token requests raise `errors`, in order."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__(APIKEY, url="https://iam.local")
        self.errors = list(errors)
        self.requests = 0

    def request_token(self) -> dict[str, Any]:
        self.requests += 1
        if self.errors:
            raise self.errors.pop(0)
        now = int(time.time())
        token = jwt.encode({"iat": now, "exp": now + 3600}, "k" * 32, algorithm="HS256")
        return {"access_token": token}


def test_a_failed_token_request_leaves_no_request_pending() -> None:
    manager = FailingTokenRequests(ApiException(503, message="IAM is unavailable"))
    with pytest.raises(ApiException):
        manager.get_token()
    # The SDK core alone leaves request_time set: the next caller would poll for up to 60 s.
    assert manager.request_time == 0
    assert manager.get_token() == manager.access_token
    assert manager.requests == 2


class HeldTokenRequest(FailingTokenRequests):
    """A token request that waits until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.answer = threading.Event()

    def request_token(self) -> dict[str, Any]:
        self.asked.set()
        self.answer.wait(timeout=10)
        return super().request_token()


def test_callers_waiting_for_a_token_are_woken_when_it_arrives(monkeypatch) -> None:
    # The SDK core has them poll with time.sleep(0.5): a run's first burst of calls then waited
    # half a second for one token round trip.
    polls: list[float] = []
    clock = types.SimpleNamespace(time=time.time, sleep=polls.append)
    monkeypatch.setattr(token_manager_module, "time", clock)
    manager = HeldTokenRequest()
    callers = [threading.Thread(target=manager.get_token) for _ in range(8)]
    for caller in callers:
        caller.start()
    assert manager.asked.wait(timeout=5)
    time.sleep(0.1)  # the other callers reach the wait
    manager.answer.set()
    for caller in callers:
        caller.join(timeout=5)

    assert not any(caller.is_alive() for caller in callers)
    assert (manager.requests, polls) == (1, [])


def test_a_waiting_caller_requests_the_token_itself_when_the_request_failed() -> None:
    manager = FailingTokenRequests(ApiException(503, message="IAM is unavailable"))
    failures: list[BaseException] = []

    def first() -> None:
        try:
            manager.get_token()
        except ApiException as exc:
            failures.append(exc)

    caller = threading.Thread(target=first)
    caller.start()
    caller.join(timeout=5)
    assert manager.get_token() == manager.access_token
    assert (len(failures), manager.requests) == (1, 2)


def through_the_retry_layer(manager: FailingTokenRequests) -> list[float]:
    """Authenticate one call under the one retry layer; return the waits it chose."""
    waits: list[float] = []
    call_api(
        lambda: DetailedResponse(response={"token": manager.get_token()}),
        what="get secret 'web-cert'",
        policy=RetryPolicy(sleep=waits.append),
    )
    return waits


@pytest.mark.parametrize(
    "error",
    [
        ApiException(500, message="Internal error"),
        ApiException(503, message="Service unavailable"),
        ApiException(429, message="Too many requests"),
        requests.ConnectionError("connection dropped"),
        requests.Timeout("read timed out"),
    ],
    ids=["500", "503", "429", "dropped-connection", "timeout"],
)
def test_a_transient_token_failure_is_retried_like_a_failed_call(error: Exception) -> None:
    manager = FailingTokenRequests(error)
    assert len(through_the_retry_layer(manager)) == 1
    assert manager.requests == 2


def test_a_refused_api_key_is_not_retried() -> None:
    manager = FailingTokenRequests(
        ApiException(400, message="Provided API key could not be found.")
    )
    with pytest.raises(PermanentError) as caught:
        through_the_retry_layer(manager)
    assert not isinstance(caught.value, RetryableError)
    assert caught.value.status == 400
    assert manager.requests == 1
