from collections.abc import Iterator

import pytest

from tests.fakecloud import FakeCloud


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    with FakeCloud() as running:
        yield running
