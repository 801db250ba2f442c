"""`trigger.http` over real sockets: the request the unmodified SDK built, sent to the local
cloud; and what only a misbehaving server shows (a kept-alive connection closed, a chunked
answer, no answer), from small asyncio servers written for each case."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from localcloud import LocalCloud
from tests.builders import code_engine_sdk
from trigger.http import ConnectionPool, Response, TransportError
from trigger.jobruns import request_builder

pytestmark = pytest.mark.integration

APIKEY = "transport-test-apikey-0123"
JOB = "certsync"
IMAGE = "docker.io/certsync/unregistered:transport"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def test_the_sdks_request_creates_a_run_and_a_second_copy_is_409(cloud: LocalCloud) -> None:
    client = code_engine_sdk(cloud, APIKEY)
    client.create_job(cloud.identity.project_id, IMAGE, JOB)
    builder = request_builder(client)
    request = builder.create_job_run(cloud.identity.project_id, job_name=JOB, name="run-1")

    async def scenario() -> list[Response]:
        pool = ConnectionPool(2, timeout=10)
        try:
            return [await pool.send(request) for _ in range(2)]
        finally:
            pool.close()

    first, second = asyncio.run(scenario())
    client.http_client.close()

    assert (first.status, second.status) == (202, 409)  # Code Engine accepts a run with 202
    assert [run["name"] for run in cloud.code_engine.job_runs.list()] == ["run-1"]
    [created, _] = cloud.requests.entries("POST", r"/job_runs$")
    assert created.query == "version=2026-09-04"


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    """Serve `handler` on loopback; each connection is closed when its handler ends."""

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    listening = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listening.close()


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"Content-Len")
    )
    await reader.readexactly(length)


def post(url: str) -> dict[str, object]:
    return {"method": "POST", "url": f"{url}/v2/x", "headers": {}, "params": {}, "data": b"{}"}


def test_a_kept_alive_connection_the_server_closed_is_replaced() -> None:
    connections = 0

    async def answer_once_then_close(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        w.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")  # says nothing of closing
        await w.drain()
        w.close()

    async def scenario() -> list[int]:
        async with server(answer_once_then_close) as url:
            pool = ConnectionPool(1, timeout=5)
            statuses = []
            for _ in range(3):
                statuses.append((await pool.send(post(url))).status)
                await asyncio.sleep(0.05)  # the server's close reaches us... or not yet
            pool.close()
            return statuses

    assert asyncio.run(scenario()) == [201, 201, 201]
    assert connections == 3


def test_a_chunked_answer_is_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(reader)
        w.write(
            b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\n\r\n"
            b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
        )
        await w.drain()

    async def scenario() -> Response:
        async with server(chunked) as url:
            pool = ConnectionPool(1, timeout=5)
            try:
                return await pool.send(post(url))
            finally:
                pool.close()

    response = asyncio.run(scenario())

    assert (response.status, response.body) == (409, b'{"a": 1}')
    assert response.headers["content-type"] == "application/json"


def test_no_answer_within_the_timeout_is_a_transport_error() -> None:
    async def silent(reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async def scenario() -> float:
        async with server(silent) as url:
            pool = ConnectionPool(1, timeout=0.3)
            started = time.monotonic()
            with pytest.raises(TransportError, match="no answer within"):
                await pool.send(post(url))
            elapsed = time.monotonic() - started
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()  # the silent handler: its connection closes
            await asyncio.sleep(0)
            return elapsed

    assert asyncio.run(scenario()) < 10  # wide margin: it does not wait for the server


def test_a_refused_connection_is_a_transport_error() -> None:
    async def scenario() -> None:
        async with server(read_request) as url:  # type: ignore[arg-type]
            pass  # closed again: nothing listens there now
        with pytest.raises(TransportError, match="cannot connect"):
            await ConnectionPool(1, timeout=5).send(post(url))

    asyncio.run(scenario())
