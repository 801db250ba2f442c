import pytest

from shared.errors import ConfigError
from shared.settings import EnvReader, SecretValue, code_engine_url


def reader(**environ: str) -> EnvReader:
    return EnvReader(environ)


def test_get_strips_and_treats_blank_as_unset() -> None:
    env = reader(A=" value ", B="   ")
    assert env.get("A") == "value"
    assert env.get("B", "default") == "default"
    assert env.get("C") is None


def test_require_returns_the_value() -> None:
    env = reader(CE_PROJECT_ID="p-1")
    assert env.require("CE_PROJECT_ID") == "p-1"
    assert env.problems == []


def test_require_names_the_missing_variable_and_why() -> None:
    env = reader()
    assert env.require("CE_PROJECT_ID", "the Code Engine project") == ""
    assert env.problems == ["CE_PROJECT_ID is not set: the Code Engine project."]


def test_require_without_why() -> None:
    env = reader(CE_PROJECT_ID="")
    env.require("CE_PROJECT_ID")
    assert env.problems == ["CE_PROJECT_ID is not set."]


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("64", 64), (" 8 ", 8)])
def test_integer_within_bounds(raw: str, expected: int) -> None:
    env = reader(N=raw)
    assert env.integer("N", 5, minimum=1, maximum=64) == expected
    assert env.problems == []


def test_integer_default_when_unset() -> None:
    env = reader()
    assert env.integer("N", 5) == 5
    assert env.problems == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("lots", "N has value 'lots'. Not a valid integer."),
        ("1.5", "N has value '1.5'. Not a valid integer."),
        ("0", "N has value 0. Must be between 1 and 64."),
        ("65", "N has value 65. Must be between 1 and 64."),
        ("-3", "N has value -3. Must be between 1 and 64."),
    ],
)
def test_integer_bad_values_are_named(raw: str, problem: str) -> None:
    env = reader(N=raw)
    assert env.integer("N", 5, minimum=1, maximum=64) == 5
    assert env.problems == [problem]


@pytest.mark.parametrize(("raw", "expected"), [("30", 30.0), ("2.5", 2.5), ("1", 1.0)])
def test_number(raw: str, expected: float) -> None:
    env = reader(T=raw)
    assert env.number("T", 30.0, minimum=1.0) == expected
    assert env.problems == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("soon", "T has value 'soon'. Not a valid number."),
        ("nan", "T has value 'nan'. Not a valid number."),
        ("inf", "T has value 'inf'. Not a valid number."),
        ("0.5", "T has value 0.5. Must be at least 1.0."),
    ],
)
def test_number_bad_values_are_named(raw: str, problem: str) -> None:
    env = reader(T=raw)
    assert env.number("T", 30.0, minimum=1.0) == 30.0
    assert env.problems == [problem]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("1", True), ("true", True), ("Yes", True), ("ON", True)],
        *[("0", False), ("false", False), ("No", False), ("off", False)],
    ],
)
def test_boolean(raw: str, expected: bool) -> None:
    env = reader(B=raw)
    assert env.boolean("B", default=not expected) is expected
    assert env.problems == []


def test_boolean_bad_value_is_named() -> None:
    env = reader(B="maybe")
    assert env.boolean("B", default=True) is True
    assert env.problems == ["B has value 'maybe'. Not a valid boolean (use true or false)."]


def test_secret_is_masked() -> None:
    secret = reader(APIKEY="very-secret-api-key").secret("APIKEY")
    assert secret is not None
    assert secret.reveal() == "very-secret-api-key"
    assert "very-secret" not in repr(secret)
    assert "very-secret" not in str(secret)
    assert "very-secret" not in f"{secret}"
    assert repr(secret) == "SecretValue('**********')"


def test_secret_unset_is_none() -> None:
    assert reader().secret("APIKEY") is None


def test_secret_masked_inside_containers() -> None:
    assert "hunter2" not in repr({"key": SecretValue("hunter2")})


def test_check_passes_without_problems() -> None:
    reader(A="1").check()


def test_check_raises_every_problem_at_once() -> None:
    env = reader(N="lots", B="maybe")
    env.require("CE_PROJECT_ID")
    env.integer("N", 5)
    env.boolean("B")
    with pytest.raises(ConfigError) as info:
        env.check()
    assert info.value.problems == [
        "CE_PROJECT_ID is not set.",
        "N has value 'lots'. Not a valid integer.",
        "B has value 'maybe'. Not a valid boolean (use true or false).",
    ]


def test_check_copies_the_problems() -> None:
    env = reader()
    env.problem("first")
    with pytest.raises(ConfigError) as info:
        env.check()
    env.problem("second")
    assert info.value.problems == ["first"]


BASE = "https://api.us-south.codeengine.cloud.ibm.com"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {
                "CODE_ENGINE_URL": "https://ce.local/v2/",
                "CE_API_BASE_URL": BASE,
                "CE_REGION": "eu-de",
            },
            "https://ce.local/v2",
        ),
        ({"CE_API_BASE_URL": BASE + "/", "CE_REGION": "eu-de"}, BASE + "/v2"),
        ({"CE_REGION": "eu-de"}, "https://api.eu-de.codeengine.cloud.ibm.com/v2"),
    ],
)
def test_code_engine_url_precedence(environ: dict[str, str], expected: str) -> None:
    env = EnvReader(environ)
    assert code_engine_url(env) == expected
    assert env.problems == []


def test_code_engine_url_missing_is_a_problem() -> None:
    env = reader()
    assert code_engine_url(env) == ""
    assert len(env.problems) == 1
    assert "CODE_ENGINE_URL is not set" in env.problems[0]
    assert "CE_API_BASE_URL" in env.problems[0]
    assert "CE_REGION" in env.problems[0]
