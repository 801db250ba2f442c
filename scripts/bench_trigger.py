"""The trigger's benchmark: acknowledgement latency under load, against a bare Starlette endpoint.

In one run, over loopback HTTP, with `scripts.loadgen` (asyncio, raw sockets):
- closed loop, N concurrent clients (default 50), then open loop at a fixed rate (default 200/s);
- each against `scripts.bare_app` (answers 202, nothing else) and `python -m trigger` receiving
  rotations that each submit a Code Engine job run to the local cloud.

CPU separation (the machine has 2 cores): the servers under test are pinned to one CPU
(`os.sched_setaffinity` on their pid right after they start), this process (the load generator)
and the local cloud (`LocalCloud` in a child process) to the other. Server CPU per request is
read from /proc/<pid>/stat around each phase, after the trigger's submissions have drained, so it
includes them; the load generator's and the cloud's are measured the same way, so the table shows
that the client costs less than what it measures.

`python -m scripts.bench_trigger [--json]`; `main(argv)` is what `make bench` calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from localcloud import zygote
from scripts.loadgen import Result, Target, closed_loop, encode_post, open_loop
from scripts.processes import ROOT, Trigger, base_env, free_port

APIKEY = "bench-apikey-0123456789abcdef"
TOKEN = "bench-webhook-token-0123456789abcdef"
JOB = "certsync"
# The image is not registered, so each run fails at once without starting a process: the
# benchmark measures the trigger, not the job.
IMAGE = "docker.io/certsync/unregistered:bench"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
TARGETS = {"closed": 3.0, "open": 1.25}  # trigger p99 within this many times the bare endpoint's


def _serve_cloud(conn: Connection, cpus: set[int] | None) -> None:
    """The local cloud in its own process: answers 'runs' (job runs held) and 'cpu' until 'stop'."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    # The cloud shares its CPU with the load generator and does far more work per request (a few
    # ms per job run): at the lowest priority it never delays a send or the reading of an answer.
    os.nice(19)
    from localcloud import LocalCloud

    with LocalCloud() as cloud:
        cloud.iam.add_apikey(APIKEY)
        cloud.code_engine.jobs.create({"name": JOB, "image_reference": IMAGE})
        # Every rotation keeps its run, so the project's job-run quota (100; enforced and tested
        # in test_limits) is lifted: this benchmark measures acknowledgements under load.
        cloud.code_engine.job_runs.max_job_runs = 1_000_000
        conn.send(
            {
                "code_engine_url": cloud.code_engine_url,
                "iam_url": cloud.iam_url,
                "project_id": cloud.identity.project_id,
                "sm_instance_crn": cloud.identity.sm_instance_crn,
            }
        )
        while (command := conn.recv()) != "stop":
            if command == "runs":
                conn.send(len(cloud.code_engine.job_runs.list()))
            elif command == "reset":  # the emulator's cost per call grows with the runs it holds
                for run in cloud.code_engine.job_runs.list():
                    cloud.code_engine.job_runs.delete(run["name"])
                conn.send(0)
            elif command == "cpu":
                conn.send(time.process_time())


class Cloud:
    def __init__(self, cpus: set[int] | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_serve_cloud, args=(child, cpus), daemon=True)
        self.process.start()
        self.info: dict[str, str] = self._receive(60)

    def ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._receive(30)

    def _receive(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise RuntimeError(
                f"the local cloud process did not answer (exit {self.process.exitcode})"
            )
        return self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self.process.join(10)


def rotation(crn: str, n: int, salt: str) -> bytes:
    """A secret_rotated notification, as Event Notifications delivers it, unique per `n`."""
    nid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}/{n}"))
    return json.dumps(
        {
            "id": nid,
            "notification_id": nid,
            "source": crn,
            "specversion": "1.0",
            "type": "com.ibm.cloud.secrets-manager.secret_rotated",
            "datacontenttype": "application/json",
            "data": {
                "event_type": "secret_rotated",
                "secret_type": "imported_cert",
                "secrets": [{"secret_id": f"{crn.rstrip(':')}:secret:{nid}"}],
                "source_instance_crn": crn,
            },
        }
    ).encode()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def peak_rss_mb(pid: int) -> float:
    """The largest resident set a running process has had (`VmHWM`, /proc/<pid>/status), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6  # kB (KiB) in /proc
    return 0.0


def pin(pid: int, cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(pid, cpus)


def plan_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, client and cloud CPUs), or (None, None) on a machine with one CPU."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return {available[-1]}, set(available[:-1])


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.server_cpus, self.client_cpus = plan_cpus()
        pin(0, self.client_cpus)
        self.cloud = Cloud(self.client_cpus)
        info = self.cloud.info
        self.crn = info["sm_instance_crn"]
        env = {
            **base_env(),
            "PORT": str(free_port()),
            "CE_PROJECT_ID": info["project_id"],
            "CODE_ENGINE_URL": info["code_engine_url"],
            "CODE_ENGINE_AUTH_TYPE": "iam",
            "CODE_ENGINE_APIKEY": APIKEY,
            "CODE_ENGINE_AUTH_URL": info["iam_url"],
            "CERTSYNC_JOB_NAME": JOB,
            "CERTSYNC_WEBHOOK_TOKEN": TOKEN,
        }
        self.trigger_env = env
        self.trigger = Trigger(env, tmp, token=TOKEN)
        pin(self.trigger.process.pid, self.server_cpus)
        bare_env = {**base_env(), "PORT": str(free_port())}
        self.bare = Trigger(bare_env, tmp, module="scripts.bare_app")
        pin(self.bare.process.pid, self.server_cpus)
        self.tmp = tmp
        self.sent = 0  # rotations posted to the trigger so far (each makes one run)
        self.runs = 0  # job runs those made
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}

    def close(self) -> None:
        self.trigger.stop()
        self.bare.stop()
        self.cloud.stop()

    def bodies(self, count: int) -> list[bytes]:
        start, self.sent = self.sent, self.sent + count
        return [rotation(self.crn, n, "bench") for n in range(start, start + count)]

    def phase(
        self, server: Trigger, load: Callable[[Target, list[bytes]], Any], count: int
    ) -> dict[str, Any]:
        """Run one load against `server`; wait for the trigger's submissions; measure CPU."""
        target = Target.of(f"{server.url}/events")
        raw = [encode_post(target, body, self.headers) for body in self.bodies(count)]
        expected = count
        if server is self.bare:
            self.sent -= count  # the bare endpoint starts no run
            expected = 0
        self.cloud.ask("reset")
        server_cpu, cloud_cpu = process_cpu(server.process.pid), self.cloud.ask("cpu")
        result: Result = asyncio.run(load(target, raw))
        drained = self.wait_for_runs(expected)
        self.runs += self.cloud.ask("runs")
        summary = result.summary()
        n = max(1, summary["requests"])
        summary["server_cpu_ms_per_request"] = round(
            (process_cpu(server.process.pid) - server_cpu) * 1000 / n, 3
        )
        summary["cloud_cpu_ms_per_request"] = round(
            (self.cloud.ask("cpu") - cloud_cpu) * 1000 / n, 3
        )
        summary["statuses"] = result.statuses
        summary["runs_drained"] = drained
        return summary

    def wait_for_runs(self, expected: int, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while self.cloud.ask("runs") < expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def run(self) -> dict[str, Any]:
        args = self.args
        self.trigger.wait_ready()
        self.bare.wait_ready()

        def closed(target: Target, raw: list[bytes]) -> Any:
            return closed_loop(target, raw, args.clients)

        def opened(target: Target, raw: list[bytes]) -> Any:
            return open_loop(target, raw, args.rate)

        for server in (self.bare, self.trigger):  # warm up: first requests, first token
            self.phase(server, closed, 200)
        rounds: list[dict[str, dict[str, Any]]] = []
        for _ in range(args.rounds):
            rows: dict[str, dict[str, Any]] = {}
            for label, load, count in (
                (f"closed, {args.clients} clients", closed, args.requests),
                (f"open, {args.rate:g}/s", opened, int(args.rate * args.open_seconds)),
            ):
                for name, server in (("bare", self.bare), ("trigger", self.trigger)):
                    row = self.phase(server, load, count)
                    rows[f"{label} | {name}"] = row
                    print(f"  {label}, {name}: p99 {row['p99_ms']} ms", file=sys.stderr)
            rounds.append(rows)
        return {
            "pinning": {
                "servers": sorted(self.server_cpus or []),
                "load_generator_and_cloud": sorted(self.client_cpus or []),
            },
            "rounds": args.rounds,
            "rows": combine(rounds),
            "ratios": ratios(rounds, args),
            "runs_submitted": self.runs,
            "rotations_sent": self.sent,
            "trigger_peak_rss_mb": round(peak_rss_mb(self.trigger.process.pid), 1),
            "trigger_cpu_seconds": round(process_cpu(self.trigger.process.pid), 2),
            "startup": startup(self.trigger_env, self.tmp, self.server_cpus),
        }


def combine(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One row per load and server: the median over rounds of each figure, counts added."""
    rows = {}
    for key in rounds[0]:
        samples = [r[key] for r in rounds]
        row: dict[str, Any] = {}
        for field, value in samples[0].items():
            values = [sample[field] for sample in samples]
            if field in ("requests", "errors"):
                row[field] = sum(values)
            elif field == "runs_drained":
                row[field] = all(values)
            elif isinstance(value, int | float):
                row[field] = round(statistics.median(values), 3)
            else:
                row[field] = values
        rows[key] = row
    return rows


def ratios(rounds: list[dict[str, dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """p99 trigger / p99 bare, per round (measured back to back), and their median."""
    out = {}
    for shape, label in (
        ("closed", f"closed, {args.clients} clients"),
        ("open", f"open, {args.rate:g}/s"),
    ):
        each = [
            r[f"{label} | trigger"]["p99_ms"] / max(r[f"{label} | bare"]["p99_ms"], 1e-9)
            for r in rounds
        ]
        ratio = statistics.median(each)
        out[shape] = {
            "p99_ratio": round(ratio, 2),
            "per_round": [round(x, 2) for x in each],
            "target": TARGETS[shape],
            "met": ratio <= TARGETS[shape],
        }
    return out


def startup(
    env: dict[str, str], tmp: Path, cpus: set[int] | None, times: int = 5
) -> dict[str, Any]:
    """Seconds from starting `python -m trigger` to its first healthy answer (scale from zero),
    and whether it imported the Secrets Manager SDK."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        process = Trigger({**env, "PORT": str(free_port())}, tmp, module="trigger")
        pin(process.process.pid, cpus)
        try:
            process.wait_ready()
            samples.append(time.perf_counter() - started)
        finally:
            process.stop()
    probe = (
        "import sys, trigger.__main__, trigger.app; "
        "print(sorted(m for m in sys.modules if m.startswith('ibm_secrets_manager_sdk')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    return {
        "seconds_to_healthy": round(statistics.median(samples), 3),
        "secrets_manager_sdk_imported": imported != "[]",
    }


def table(report: dict[str, Any]) -> str:
    pinning = report["pinning"]
    lines = [
        f"trigger benchmark: servers pinned to CPU {pinning['servers'] or 'any'}, "
        f"load generator and local cloud (nice 19) to CPU "
        f"{pinning['load_generator_and_cloud'] or 'any'}; medians of {report['rounds']} rounds",
        f"{'load':<20} {'server':<8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'req/s':>7} "
        f"{'server CPU':>10} {'client CPU':>10} {'cloud CPU':>9}  (CPU: ms per request)",
    ]
    for key, row in report["rows"].items():
        load, server = key.split(" | ")
        lines.append(
            f"{load:<20} {server:<8} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
            f"{row['max_ms']:>7.2f} {row['rate_per_s']:>7.0f} "
            f"{row['server_cpu_ms_per_request']:>10.3f} {row['client_cpu_ms_per_request']:>10.3f} "
            f"{row['cloud_cpu_ms_per_request']:>9.3f}"
        )
    for shape, ratio in report["ratios"].items():
        verdict = "met" if ratio["met"] else "NOT met"
        lines.append(
            f"p99 trigger/bare, {shape} loop: {ratio['p99_ratio']:.2f}x "
            f"(rounds: {', '.join(f'{x:.2f}' for x in ratio['per_round'])}; "
            f"target {ratio['target']:g}x: {verdict})"
        )
    start = report["startup"]
    lines.append(
        f"job runs in the local cloud: {report['runs_submitted']} for {report['rotations_sent']} "
        f"rotations; trigger start to first /healthz 200: {start['seconds_to_healthy']:.2f} s "
        f"(median of 5); Secrets Manager SDK imported: "
        f"{'yes' if start['secrets_manager_sdk_imported'] else 'no'}"
    )
    lines.append(
        f"trigger process: peak RSS {report['trigger_peak_rss_mb']:.0f} MB, CPU "
        f"{report['trigger_cpu_seconds']:.2f} s for the whole bench"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ[zygote.SWITCH] = "0"  # every process exec'd: what is measured includes its start
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_trigger")
    parser.add_argument("--requests", type=int, default=2000, help="closed loop: POSTs per phase")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="open loop: requests/s")
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="figures are medians over rounds")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, Path(tmp))
        try:
            report = bench.run()
        finally:
            bench.close()
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
