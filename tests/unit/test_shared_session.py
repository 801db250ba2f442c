"""EnvironmentOnceSession: requests' own environment settings, looked up once per origin.

requests reads the process environment itself (proxies, CA bundle, netrc), so these tests set it
with monkeypatch.setenv; each compares with what a plain `requests.Session` does.
"""

import ssl
from pathlib import Path

import pytest
import requests

from shared.clients import ServiceAuth, SharedSSLAdapter, code_engine_client
from shared.session import EnvironmentOnceSession
from shared.settings import SecretValue

PROXIED = "https://api.eu-de.codeengine.cloud.ibm.com/v2/projects/p/secrets/tls-web"
BYPASSED = "https://private.iam.cloud.ibm.com/identity/token"
PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "private.iam.cloud.ibm.com")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    return monkeypatch


def settings(session: requests.Session, url: str, **given: object) -> dict[str, object]:
    options = {"proxies": {}, "stream": None, "verify": None, "cert": None, **given}
    return dict(session.merge_environment_settings(url, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [PROXIED, BYPASSED])
def test_the_environment_settings_are_those_of_requests(url: str) -> None:
    assert settings(EnvironmentOnceSession(), url) == settings(requests.Session(), url)


def test_proxies_and_the_ca_bundle_come_from_the_environment() -> None:
    found = settings(EnvironmentOnceSession(), PROXIED)
    assert found["proxies"]["https"] == "http://proxy.internal:3128"  # type: ignore[index]
    assert found["verify"] == "/etc/ssl/corporate.pem"
    assert "https" not in settings(EnvironmentOnceSession(), BYPASSED)["proxies"]  # type: ignore[operator]


def test_the_environment_is_read_once_per_origin(environment: pytest.MonkeyPatch) -> None:
    session = EnvironmentOnceSession()
    first = settings(session, PROXIED)
    environment.setenv("HTTPS_PROXY", "http://other.internal:8080")
    assert settings(session, PROXIED + "?limit=100") == first
    other_host = "https://api.us-south.codeengine.cloud.ibm.com/v2/projects"
    assert settings(session, other_host)["proxies"]["https"] == "http://other.internal:8080"  # type: ignore[index]


def test_an_answer_handed_out_cannot_change_the_next_one() -> None:
    session = EnvironmentOnceSession()
    settings(session, PROXIED)["proxies"]["https"] = "http://changed"  # type: ignore[index]
    assert settings(session, PROXIED)["proxies"]["https"] == "http://proxy.internal:3128"  # type: ignore[index]


def test_explicit_proxies_and_verify_are_honoured() -> None:
    session = EnvironmentOnceSession()
    settings(session, PROXIED)
    given = settings(session, PROXIED, proxies={"https": "http://given:1"}, verify=False)
    assert given["proxies"]["https"] == "http://given:1"  # type: ignore[index]
    assert given["verify"] is False


def test_without_trust_env_nothing_is_read() -> None:
    session = EnvironmentOnceSession()
    session.trust_env = False
    assert settings(session, PROXIED) == {
        "proxies": {},
        "stream": False,
        "verify": True,
        "cert": None,
    }


def netrc_env(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine proxied.example login user password pass\n")
    netrc.chmod(0o600)
    environment.setenv("NETRC", str(netrc))


@pytest.mark.parametrize("host", ["proxied.example", "other.example"])
def test_netrc_credentials_are_applied_as_requests_applies_them(
    environment: pytest.MonkeyPatch, tmp_path: Path, host: str
) -> None:
    netrc_env(environment, tmp_path)

    def prepared(session: requests.Session) -> requests.PreparedRequest:
        return session.prepare_request(requests.Request("GET", f"https://{host}/v2/x"))

    ours, theirs = prepared(EnvironmentOnceSession()), prepared(requests.Session())
    assert ours.headers.get("Authorization") == theirs.headers.get("Authorization")
    assert dict(ours.headers) == dict(theirs.headers)
    assert ("Authorization" in ours.headers) is (host == "proxied.example")


def test_an_authorization_set_by_the_sdk_is_kept(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    request = requests.Request(
        "GET", "https://other.example/v2/x", headers={"Authorization": "Bearer abc"}
    )
    netrc_env(environment, tmp_path)
    assert EnvironmentOnceSession().prepare_request(request).headers["Authorization"] == (
        "Bearer abc"
    )


def test_sdk_clients_use_the_session_and_one_pool_sized_adapter() -> None:
    auth = ServiceAuth("CODE_ENGINE", "iam", apikey=SecretValue("an-api-key"))
    client = code_engine_client("https://ce.local/v2", auth, timeout=5.0, pool_size=16)
    session = client.get_http_client()
    assert isinstance(session, EnvironmentOnceSession)
    adapter = session.get_adapter("https://ce.local/v2/projects")
    assert adapter is client.http_adapter
    assert isinstance(adapter, SharedSSLAdapter)
    assert adapter._pool_maxsize == 16


def test_adapters_share_one_context_per_verification_setting() -> None:
    def context(adapter: SharedSSLAdapter) -> ssl.SSLContext:
        found: ssl.SSLContext = adapter.poolmanager.connection_pool_kw["ssl_context"]
        return found

    verifying, also_verifying = SharedSSLAdapter(), SharedSSLAdapter(pool_maxsize=4)
    not_verifying = SharedSSLAdapter(_disable_ssl_verification=True)
    assert context(verifying) is context(also_verifying)
    assert context(verifying).verify_mode == ssl.CERT_REQUIRED
    assert context(not_verifying).verify_mode == ssl.CERT_NONE
    assert also_verifying.poolmanager.connection_pool_kw["maxsize"] == 4
