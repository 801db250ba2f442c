"""The status record's home: a Code Engine config map, read and replaced with `If-Match`.

`update` reads the map, applies a change to the record and writes it back with the entity tag it
read (or creates it), re-reading on 409/412, so concurrent runs never lose each other's entries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from job.status import Record, from_data, to_data
from shared.errors import ConflictError, NotFoundError
from shared.retry import RetryPolicy
from shared.sdk import call_api

MAX_CONFLICTS = 5


class ConfigMapsApi(Protocol):
    """The SDK calls the status record needs (ibm_code_engine_sdk CodeEngineV2)."""

    def get_config_map(self, project_id: str, name: str, **kwargs: Any) -> Any: ...

    def create_config_map(self, project_id: str, name: str, **kwargs: Any) -> Any: ...

    def replace_config_map(
        self, project_id: str, name: str, if_match: str, **kwargs: Any
    ) -> Any: ...


class StatusStore:
    def __init__(
        self, api: ConfigMapsApi, project_id: str, name: str, *, policy: RetryPolicy
    ) -> None:
        self._api = api
        self._project = project_id
        self._name = name
        self._policy = policy

    @property
    def name(self) -> str:
        return self._name

    def read(self) -> tuple[Record, str | None]:
        """The record and the config map's entity tag (None: the map does not exist yet)."""
        try:
            body = self._call(
                "get", functools.partial(self._api.get_config_map, self._project, self._name)
            )
        except NotFoundError:
            return {}, None
        return from_data(body.get("data")), str(body.get("entity_tag") or "")

    def update(
        self,
        change: Callable[[Record], Record],
        *,
        first: tuple[Record, str | None] | None = None,
    ) -> Record:
        """Apply `change` to the stored record and store the result; conflicts re-read. `first`:
        the record and tag this run already read, tried before reading again (a stale one costs
        a 412 and a re-read, never a lost entry)."""
        for attempt in range(MAX_CONFLICTS):
            record, tag = first if first is not None and attempt == 0 else self.read()
            updated = change(record)
            try:
                self._write(updated, tag)
            except ConflictError:
                continue
            return updated
        raise ConflictError(
            f"config map {self._name!r} kept changing while being written "
            f"({MAX_CONFLICTS} conflicts in a row)",
            status=412,
        )

    def _write(self, record: Record, tag: str | None) -> None:
        data = to_data(record)
        if tag is None:
            request = functools.partial(
                self._api.create_config_map, self._project, self._name, data=data
            )
            self._call("create", request)
        else:
            request = functools.partial(
                self._api.replace_config_map, self._project, self._name, tag, data=data
            )
            self._call("replace", request)

    def _call(self, verb: str, request: Callable[[], Any]) -> dict[str, Any]:
        what = f"{verb} Code Engine config map {self._name!r}"
        return call_api(request, what=what, policy=self._policy)
