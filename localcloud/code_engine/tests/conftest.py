"""Fixtures of the Code Engine contract tests: a running cloud, an SDK client, the project id, and
a TLS secret for a domain mapping."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    APIKEY,
    DOMAIN,
    ENV_IMAGE,
    SCRIPT_PRINT_ENV,
    client,
    tls_secret_data,
)
from localcloud.pki import Chain, make_chain


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as fake:
        fake.iam.add_apikey(APIKEY)
        fake.code_engine.register_image(ENV_IMAGE, [sys.executable, "-c", SCRIPT_PRINT_ENV])
        yield fake


@pytest.fixture
def ce(cloud: LocalCloud) -> Iterator[CodeEngineV2]:
    service = client(cloud)
    yield service
    service.http_client.close()


@pytest.fixture
def pid(cloud: LocalCloud) -> str:
    return cloud.identity.project_id


@pytest.fixture
def web_tls(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> Chain:
    """A chain for DOMAIN, its root trusted, in TLS secret `web-tls`; and the app `web-app`."""
    chain = make_chain(DOMAIN)
    cloud.code_engine.domain_mappings.trust_root(chain.root_pem)
    cloud.code_engine.apps.seed("web-app")
    ce.create_secret(project_id=pid, format="tls", name="web-tls", data=tls_secret_data(chain))
    return chain
