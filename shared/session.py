"""The `requests.Session` the SDK clients send through: the environment read once, and the SDK's
requests written straight onto pooled connections (shared/transport.py)."""

from __future__ import annotations

import datetime as dt
import email
import http.client
import time
import types
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.hooks import default_hooks
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    check_header_validity,
    get_encoding_from_headers,
    get_netrc_auth,
    requote_uri,
    select_proxy,
)

from shared.transport import Origin, Pools, Reply, sdk_ssl_context


class _AsIs(AuthBase):
    """No authentication of requests' own: the SDK's authenticator already set the header."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class EnvironmentOnceSession(requests.Session):
    """A `requests.Session` that reads the environment once per origin, not once per request.

    With `trust_env` (kept on), every `Session.request` looks up the proxies (`HTTPS_PROXY`,
    `NO_PROXY`, ...: os.environ scanned twice), the CA bundle (`REQUESTS_CA_BUNDLE`,
    `CURL_CA_BUNDLE`) and `~/.netrc` (two stat calls) again (requests/sessions.py:
    `merge_environment_settings`, and `prepare_request` calling `get_netrc_auth`). That was
    ~0.15 ms of CPU per call with a short environment, more with Code Engine's. A job's
    environment and home directory do not change while it runs, so each answer is computed by
    requests' own functions once per (scheme, host) and reused; what requests does with it is
    unchanged. A request with explicit `proxies`, and redirects (`rebuild_proxies`,
    `rebuild_auth`), still look everything up as before.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._netrc: dict[tuple[str, str], AuthBase] = {}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.trust_env and not request.auth and not self.auth:
            # What requests would find in netrc for this host (basic auth), else nothing: with
            # an auth set, requests skips its own lookup.
            request.auth = self._netrc_auth(str(request.url))
        return super().prepare_request(request)

    def merge_environment_settings(  # type: ignore[override]  # the stubs' TypedDict
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies or not self.trust_env:
            return dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        key = (
            _origin(str(url)),
            stream,
            verify,
            tuple(cert) if isinstance(cert, list) else cert,
            tuple(sorted(self.proxies.items())),
            self.stream,
            self.verify,
            self.cert,
        )
        settings = self._environment.get(key)
        if settings is None:  # a race computes it twice, to the same answer
            settings = dict(super().merge_environment_settings(url, {}, stream, verify, cert))
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def _netrc_auth(self, url: str) -> AuthBase:
        key = _origin(url)
        auth = self._netrc.get(key)
        if auth is None:
            found = get_netrc_auth(url)
            auth = self._netrc[key] = HTTPBasicAuth(*found) if found else _AsIs()
        return auth


class DirectSession(EnvironmentOnceSession):
    """The SDK clients' session: requests the SDK built go straight onto a pooled connection
    (shared/transport.py), without `requests` preparing them a second time or urllib3 under it.

    `BaseService.send` (ibm_cloud_sdk_core/base_service.py) calls `request(method=, url=,
    headers=, params=, data=, files=, cookies=self.jar, timeout=, verify=?)` and reads the
    `requests.Response`'s status, headers, text and JSON; that is what is built here, with the
    headers requests would send (the session's defaults under the SDK's), the URL as requests
    encodes it, and `requests`' own exceptions, so the SDK, shared/errors.py and the retry layer
    see no difference. A request using anything else (a proxy from the environment, a CA bundle
    file, netrc credentials, cookies, files, streaming, a client certificate) takes the ordinary
    `requests` path, as does a redirect once its first answer is in.
    """

    def __init__(self, pool_size: int = 10) -> None:
        super().__init__()
        self.pools = Pools(pool_size, sdk_ssl_context)
        self._routes: dict[tuple[Any, ...], tuple[Origin, bool] | None] = {}

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        direct = None if args else self._direct(str(url), kwargs)
        if direct is None:
            return super().request(method, url, *args, **kwargs)
        origin, verify = direct
        return self._send(str(method).upper(), str(url), origin, verify, **kwargs)

    def _direct(self, url: str, kwargs: dict[str, Any]) -> tuple[Origin, bool] | None:
        """The origin and TLS verification for the direct path, or None for requests'."""
        data = kwargs.get("data")
        plain = not (
            set(kwargs) - _DIRECT_ARGUMENTS
            or kwargs.get("files")
            or _may_hold_cookies(kwargs.get("cookies"))
            or (data is not None and not isinstance(data, bytes))
            or _may_hold_cookies(self.cookies)
            or self.auth
            or self.params
            or self.cert
            or self.stream
            or any(self.hooks.values())
        )
        if not plain or self.proxies:
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, kwargs.get("verify"), self.trust_env)
        if key not in self._routes:  # the environment is read once (see the base class)
            self._routes[key] = self._route(url, kwargs.get("verify"))
        return self._routes[key]

    def _route(self, url: str, verify: Any) -> tuple[Origin, bool] | None:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or "@" in parts.netloc:
            return None
        if not host or not host.isascii():  # requests IDNA-encodes a non-ASCII name
            return None
        if self.trust_env and not isinstance(self._netrc_auth(url), _AsIs):
            return None
        found = self.merge_environment_settings(url, {}, None, verify, None)
        if select_proxy(url, found["proxies"]):
            return None
        verify = found["verify"]
        if not isinstance(verify, bool):  # a CA bundle file (REQUESTS_CA_BUNDLE): requests' path
            if parts.scheme == "https":
                return None
            verify = True  # not used without TLS
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return Origin(parts.scheme, host, port), verify

    def _send(
        self,
        method: str,
        url: str,
        origin: Origin,
        verify: bool,
        *,
        headers: Any = None,
        params: Any = None,
        data: bytes | None = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        **_: Any,
    ) -> requests.Response:
        prepared = _prepare(
            method, url, defaults=self.headers, headers=headers, params=params, body=data
        )
        parts = urlsplit(str(prepared.url))
        target = f"{parts.path or '/'}{'?' + parts.query if parts.query else ''}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {origin.host_header}"]
        lines += [f"{name}: {_text(value)}" for name, value in prepared.headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")  # as http.client encodes
        started = time.perf_counter()
        reply = self.pools.send(
            origin, head, data or b"", method=method, timeout=timeout, verify=verify
        )
        response = _response(prepared, reply)
        response.elapsed = dt.timedelta(seconds=time.perf_counter() - started)
        if reply.set_cookie:
            _extract_cookies(self, prepared, response, reply)
        if allow_redirects and response.is_redirect:
            prepared._cookies = RequestsCookieJar()  # type: ignore[attr-defined]
            later = self.resolve_redirects(response, prepared, timeout=timeout, verify=verify)
            history = [response, *later]
            response = history.pop()
            response.history = history
        return response

    def close(self) -> None:
        self.pools.close()
        super().close()


# What `BaseService.send` passes (plus the `requests` defaults it may be given); anything else
# (`json`, `auth`, `proxies`, `stream`, `cert`, `hooks`) means the ordinary path.
_DIRECT_ARGUMENTS = frozenset(
    {"headers", "params", "data", "files", "cookies", "timeout", "verify", "allow_redirects"}
)


def _prepare(
    method: str, url: str, *, defaults: Any, headers: Any, params: Any, body: bytes | None
) -> requests.PreparedRequest:
    """The PreparedRequest requests would make: the session's headers under the request's
    (`merge_setting`, None removing one), the query encoded and the URL requoted
    (`PreparedRequest.prepare_url`), `Content-Length` as `prepare_content_length` sets it."""
    merged = CaseInsensitiveDict(defaults)
    for name, value in (headers or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            check_header_validity((name, value))
            merged[name] = value
    query = _query(params) if params else ""
    if query:
        url = f"{url}&{query}" if urlsplit(url).query else f"{url}?{query}"
    if body is not None:
        merged["Content-Length"] = str(len(body))
    elif method not in ("GET", "HEAD") and merged.get("Content-Length") is None:
        merged["Content-Length"] = "0"
    prepared = requests.PreparedRequest()
    prepared.method = method
    prepared.url = requote_uri(url)
    prepared.headers = merged
    prepared.body = body
    prepared.hooks = default_hooks()
    return prepared


def _query(params: Any) -> str:
    """The query string requests makes of `params` (`RequestEncodingMixin._encode_params`). The
    SDK's are a dict of text (`version=...`, `limit=...` after its `cleanup_values`), encoded
    here as requests encodes text (UTF-8 bytes, `urlencode(doseq=True)`) without its generic
    type checks (runtime Protocol `isinstance` checks, ~30 us a call); anything else goes to
    requests."""
    if isinstance(params, dict) and all(
        type(k) is str and type(v) is str for k, v in params.items()
    ):
        return urlencode(
            [(k.encode("utf-8"), v.encode("utf-8")) for k, v in params.items()], doseq=True
        )
    return str(RequestEncodingMixin._encode_params(params))  # type: ignore[attr-defined]


def _may_hold_cookies(jar: Any) -> bool:
    """Whether a cookie jar may hold a cookie, without counting them: `len()` of a CookieJar
    walks every domain and path (http/cookiejar.py `deepvalues`), and the SDK passes its jar with
    every request. A jar that once held cookies may read as non-empty here (it keeps emptied
    domains), which only sends that request the ordinary way."""
    if jar is None:
        return False
    cookies = getattr(jar, "_cookies", None)
    return bool(cookies) if isinstance(cookies, dict) else bool(jar)


def _text(value: str | bytes) -> str:
    """A header value as http.client writes it: bytes as they are, text as latin-1."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _response(prepared: requests.PreparedRequest, reply: Reply) -> requests.Response:
    """A `requests.Response` as `HTTPAdapter.build_response` fills it, its content read."""
    response = requests.Response()
    response.status_code = reply.status
    response.reason = reply.reason
    response.headers = CaseInsensitiveDict(reply.joined_headers())
    response.encoding = get_encoding_from_headers(response.headers)
    response.url = str(prepared.url)
    response.request = prepared
    response._content = reply.body
    response._content_consumed = True  # type: ignore[attr-defined]
    return response


def _extract_cookies(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    response: requests.Response,
    reply: Reply,
) -> None:
    """Set-Cookie into the session's jar and the response's, as requests does from the
    `http.client` message; the session then sends them the ordinary way."""
    message = email.message_from_string(
        "".join(f"{name}: {value}\r\n" for name, value in reply.headers) + "\r\n",
        _class=http.client.HTTPMessage,
    )
    raw = types.SimpleNamespace(_original_response=types.SimpleNamespace(msg=message))
    extract_cookies_to_jar(session.cookies, prepared, raw)  # type: ignore[no-untyped-call]
    extract_cookies_to_jar(response.cookies, prepared, raw)  # type: ignore[no-untyped-call]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
