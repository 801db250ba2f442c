from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ConfigError
from shared.logging import redact_secrets
from shared.retry import RetryPolicy
from tests.builders import SM_CRN
from tests.builders import WEBHOOK_TOKEN as TOKEN
from tests.builders import trigger_environ as environ
from trigger.settings import MAX_BODY_BYTES, Settings


def problems(**changes: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ(**changes))
    return caught.value.problems


def test_valid_environment_gives_settings() -> None:
    settings = Settings.from_env(environ())

    assert settings.project_id == "15aa7b1e-0000-4000-8000-000000000001"
    assert settings.code_engine_url == "https://api.us-south.codeengine.cloud.ibm.com/v2"
    assert settings.code_engine_auth.auth_type == "container"
    assert settings.job_name == "certsync"
    assert settings.webhook_token is not None
    assert settings.webhook_token.reveal() == TOKEN
    assert settings.allowed_sources == frozenset()
    assert settings.port == 8080
    assert settings.max_body_bytes == MAX_BODY_BYTES == 256 * 1024


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        CE_PROJECT_ID=None,
        CE_REGION=None,
        CODE_ENGINE_AUTH_TYPE=None,
        CERTSYNC_JOB_NAME=None,
        CERTSYNC_WEBHOOK_TOKEN=None,
        PORT="http",
        CERTSYNC_ALLOWED_SOURCES="not-a-crn",
    )

    named = [
        "PORT",
        "CE_PROJECT_ID",
        "CODE_ENGINE_URL",
        "CODE_ENGINE_AUTH_TYPE",
        "CERTSYNC_JOB_NAME",
        "CERTSYNC_WEBHOOK_TOKEN",
        "CERTSYNC_ALLOWED_SOURCES",
    ]
    assert len(found) == len(named)
    for variable, problem in zip(named, found, strict=True):
        assert problem.startswith(variable), problem


def test_a_missing_token_names_the_variable_and_the_way_out() -> None:
    [problem] = problems(CERTSYNC_WEBHOOK_TOKEN=None)

    assert "CERTSYNC_WEBHOOK_TOKEN is not set" in problem
    assert "CERTSYNC_ALLOW_UNAUTHENTICATED=true" in problem


def test_no_token_is_accepted_only_when_unauthenticated_is_allowed() -> None:
    settings = Settings.from_env(
        environ(CERTSYNC_WEBHOOK_TOKEN=None, CERTSYNC_ALLOW_UNAUTHENTICATED="true")
    )

    assert settings.webhook_token is None


def test_a_token_wins_over_allowing_unauthenticated() -> None:
    settings = Settings.from_env(environ(CERTSYNC_ALLOW_UNAUTHENTICATED="true"))

    assert settings.webhook_token is not None


@pytest.mark.parametrize(
    "token", ["short", "has a space in it, long enough", "tab\tinside-0123456789"]
)
def test_a_weak_or_unsendable_token_is_refused_without_showing_it(token: str) -> None:
    [problem] = problems(CERTSYNC_WEBHOOK_TOKEN=token)

    assert problem.startswith("CERTSYNC_WEBHOOK_TOKEN")
    assert token.strip() not in problem


def test_the_token_is_masked_in_repr() -> None:
    settings = Settings.from_env(environ())

    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)


def test_the_api_key_is_masked_in_repr() -> None:
    settings = Settings.from_env(
        environ(CODE_ENGINE_AUTH_TYPE="iam", CODE_ENGINE_APIKEY="apikey-value-0123456789")
    )

    assert "apikey-value-0123456789" not in repr(settings)


def test_an_invalid_job_name_is_named() -> None:
    [problem] = problems(CERTSYNC_JOB_NAME="Cert_Sync")

    assert problem.startswith("CERTSYNC_JOB_NAME has value 'Cert_Sync'.")


def test_explicit_code_engine_url() -> None:
    settings = Settings.from_env(environ(CODE_ENGINE_URL="http://127.0.0.1:9/v2/"))

    assert settings.code_engine_url == "http://127.0.0.1:9/v2"


def test_allowed_sources_are_normalized_instance_crns() -> None:
    secret_crn = SM_CRN.removesuffix("::") + ":secret:0b1c2d3e"
    other = SM_CRN.replace("9f8e7d6c", "aaaaaaaa").removesuffix("::")

    settings = Settings.from_env(environ(CERTSYNC_ALLOWED_SOURCES=f" {secret_crn} ,{other},"))

    assert settings.allowed_sources == {SM_CRN, other + "::"}


def test_submission_bounds_fit_in_the_graceful_shutdown() -> None:
    settings = Settings.from_env(environ())

    assert isinstance(settings.retry, RetryPolicy)
    assert settings.retry.total_seconds + settings.ce_timeout < settings.shutdown_seconds


def test_problems_survive_the_log_redaction() -> None:
    found = problems(CERTSYNC_WEBHOOK_TOKEN=None, CERTSYNC_JOB_NAME=None)

    assert redact_secrets(None, "error", {"problems": found}) == {"problems": found}
    for problem in found:
        assert redact_secrets(None, "error", {"problem": problem}) == {"problem": problem}
