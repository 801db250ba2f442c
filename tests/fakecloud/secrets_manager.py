"""Secrets Manager v2 (placeholder: being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from tests.fakecloud.cloud import FakeCloud


class SecretsManager:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def routes(self) -> list[BaseRoute]:
        return []
