"""A load generator cheaper than the server it measures: asyncio over raw sockets.

Each request is encoded once before the clock starts (HTTP/1.1, keep-alive, `Content-Length`);
an answer is read as its status line, its `Content-Length` and that many bytes, nothing else
parsed. Two shapes of load:

- closed loop (`closed_loop`): N clients, each on its own connection, sending its next request
  when the previous answer arrived. Latency: from send to answer.
- open loop (`open_loop`): requests at a fixed rate whatever the answers do; a request whose
  scheduled time finds every connection busy opens another. Latency is measured from the
  *scheduled* send time, so a server that stalls is charged for the requests it held back
  (no coordinated omission).

CPU seconds this process used are reported with the latencies, so a benchmark can show that the
client costs less per request than the server. `python -m scripts.loadgen --help` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_CONNECTIONS = 512  # an open loop never opens more (a server that stops answering)
TIMEOUT_SECONDS = 120.0  # a load never runs longer, whatever the server does


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http URLs: {url!r}")
        return cls(parts.hostname, parts.port or 80, parts.path or "/")


def encode_post(target: Target, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, one per answered request
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process, user + system, while the load ran
    connections: int = 0

    def count(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self) -> dict[str, Any]:
        ms = sorted(t * 1000 for t in self.latencies)
        q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
        n = len(ms)
        return {
            "requests": n,
            "errors": self.errors,
            "p50_ms": round(q[49], 2),
            "p90_ms": round(q[89], 2),
            "p99_ms": round(q[98], 2),
            "max_ms": round(ms[-1], 2) if ms else 0.0,
            "rate_per_s": round(n / self.wall_seconds, 1) if self.wall_seconds else 0.0,
            "client_cpu_ms_per_request": round(self.cpu_seconds * 1000 / n, 3) if n else 0.0,
            "connections": self.connections,
        }


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, raw: bytes) -> int:
        """Send one request, read one answer; return its status."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        start = head.find(b"\r\ncontent-length:")
        if start < 0:
            start = head.lower().find(b"\r\ncontent-length:")
        if start < 0:
            raise ValueError("an answer without Content-Length")
        end = head.index(b"\r\n", start + 2)
        await self.reader.readexactly(int(head[start + 17 : end]))
        return status

    def close(self) -> None:
        self.writer.close()


async def _connect(target: Target) -> _Connection:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    return _Connection(reader, writer)


async def closed_loop(target: Target, requests: Sequence[bytes], clients: int) -> Result:
    """Every request once, `clients` at a time, each client on one kept-alive connection."""
    result = Result(connections=clients)
    connections = [await _connect(target) for _ in range(clients)]
    queue = list(reversed(requests))

    async def client(connection: _Connection) -> None:
        clock = time.perf_counter
        while queue:
            raw = queue.pop()
            started = clock()
            try:
                status = await connection.exchange(raw)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                result.errors += 1
                return
            result.count(status, clock() - started)

    cpu, wall = time.process_time(), time.perf_counter()
    await _bounded(asyncio.gather(*(client(c) for c in connections)), result, len(requests))
    result.wall_seconds = time.perf_counter() - wall
    result.cpu_seconds = time.process_time() - cpu
    for connection in connections:
        connection.close()
    return result


async def open_loop(
    target: Target, requests: Sequence[bytes], rate: float, warm_connections: int = 8
) -> Result:
    """Request i is due at `i / rate` seconds; sent then on an idle connection (or a new one)."""
    result = Result()
    idle = [await _connect(target) for _ in range(warm_connections)]
    result.connections = len(idle)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()

    async def one(raw: bytes, due: float) -> None:
        if idle:
            connection = idle.pop()
        elif result.connections < MAX_CONNECTIONS:
            result.connections += 1
            connection = await _connect(target)
        else:
            result.errors += 1
            return
        try:
            status = await connection.exchange(raw)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            result.errors += 1
            connection.close()
            return
        result.count(status, loop.time() - due)
        idle.append(connection)

    cpu, wall = time.process_time(), time.perf_counter()
    start = loop.time() + 0.01
    for i, raw in enumerate(requests):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(raw, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await _bounded(asyncio.gather(*pending), result, len(requests))
    result.wall_seconds = time.perf_counter() - wall
    result.cpu_seconds = time.process_time() - cpu
    for connection in idle:
        connection.close()
    return result


async def _bounded(load: Awaitable[object], result: Result, total: int) -> None:
    """Wait for `load` at most TIMEOUT_SECONDS; requests unanswered by then count as errors."""
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await load
    except TimeoutError:
        result.errors += total - len(result.latencies) - result.errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.loadgen")
    parser.add_argument("url", help="http://host:port/path to POST to")
    parser.add_argument("--body", default="{}", help="the JSON body of every request")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument("--requests", type=int, default=1000)
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--clients", type=int, default=50, help="closed loop: concurrent clients")
    shape.add_argument("--rate", type=float, help="open loop: requests per second")
    args = parser.parse_args(argv)
    headers = {"Content-Type": "application/json"}
    for item in args.header:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    target = Target.of(args.url)
    raw = encode_post(target, args.body.encode(), headers)
    requests = [raw] * args.requests
    if args.rate:
        result = asyncio.run(open_loop(target, requests, args.rate))
    else:
        result = asyncio.run(closed_loop(target, requests, args.clients))
    print(json.dumps({**result.summary(), "statuses": result.statuses}))
    return 0 if not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
