from collections.abc import Mapping

import pytest
from ibm_cloud_sdk_core.authenticators import ContainerAuthenticator, IAMAuthenticator

from shared.clients import (
    CODE_ENGINE_API_VERSION,
    ServiceAuth,
    build_authenticator,
    code_engine_client,
    read_service_auth,
    secrets_manager_client,
)
from shared.settings import EnvReader, SecretValue

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
    assert authenticator.token_manager.apikey == APIKEY
    assert authenticator.token_manager.url == "https://iam.local"


def test_build_container_authenticator() -> None:
    auth = ServiceAuth(PREFIX, "container", profile_name="certsync", cr_token_filename="/tmp/none")
    authenticator = build_authenticator(auth)
    assert isinstance(authenticator, ContainerAuthenticator)
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
