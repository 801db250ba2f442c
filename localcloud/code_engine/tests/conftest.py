"""Fixtures of the Code Engine contract tests: a running cloud, an SDK client, the project id."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import APIKEY, ENV_IMAGE, SCRIPT_PRINT_ENV, client


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
