"""`make bench`: the job's wall time for many mappings, and the trigger's ack latency.

Every number comes from real processes over loopback HTTP against the local IBM Cloud (served
from this process, as in the tests); the Code Engine and Secrets Manager latency is injected by
the emulator on every API call.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from localcloud import LocalCloud
from localcloud.pki import issue, make_chain
from scripts.processes import Trigger, base_env, free_port, job_env, run_job, trigger_env


def bench_job(mappings: int, latency: float, concurrency: int) -> dict[str, float]:
    with LocalCloud() as cloud:
        root = issue("bench root", ca=True, days=3650)
        intermediate = issue("bench intermediate", issuer=root, ca=True, days=1800)
        pairs = []
        for n in range(mappings):
            chain = make_chain(f"site-{n}.example.com", ca=(root, intermediate))
            secret = cloud.secrets_manager.seed_certificate(
                "imported_cert",
                f"bench-{n}",
                chain.leaf_pem,
                chain.key_pem,
                intermediate=chain.intermediate_pem,
            )
            pairs.append({"secret": secret["id"], "target": f"tls-{n}"})
        cloud.faults.latency_all = latency
        env = job_env(cloud, pairs, CERTSYNC_CONCURRENCY=str(concurrency))
        results = {}
        for label in ("first_run", "second_run"):
            cloud.requests.clear()
            started = time.perf_counter()
            result = run_job(env, timeout=600)
            results[label] = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"job failed in {label}: {result.summary}")
            results[f"{label}_calls"] = len(cloud.requests.entries())
        results["max_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return results


def notification(sm_crn: str, n: int, event: str = "secret_rotated") -> bytes:
    nid = str(uuid.UUID(int=n))
    return json.dumps(
        {
            "id": nid,
            "notification_id": nid,
            "source": sm_crn,
            "specversion": "1.0",
            "type": f"com.ibm.cloud.secrets-manager.{event}",
            "datacontenttype": "application/json",
            "data": {
                "event_type": event,
                "secret_type": "imported_cert",
                "secrets": [{"secret_id": f"{sm_crn.rstrip(':')}:secret:{nid}"}],
                "source_instance_crn": sm_crn,
            },
        }
    ).encode()


def load(url: str, bodies: list[bytes], headers: dict[str, str], clients: int) -> list[float]:
    """POST every body with `clients` concurrent keep-alive connections; latencies in seconds."""
    chunks = [bodies[i::clients] for i in range(clients)]

    def client(chunk: list[bytes]) -> list[float]:
        latencies = []
        with requests.Session() as session:
            for body in chunk:
                started = time.perf_counter()
                response = session.post(url, data=body, headers=headers, timeout=30)
                latencies.append(time.perf_counter() - started)
                if response.status_code not in (200, 202):
                    raise SystemExit(f"{url} answered {response.status_code}")
        return latencies

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return [t for chunk in pool.map(client, chunks) for t in chunk]


def percentiles(latencies: list[float]) -> str:
    ms = sorted(t * 1000 for t in latencies)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:6.1f} ms  p99 {q[98]:6.1f} ms  max {ms[-1]:6.1f} ms  (n={len(ms)})"


def bench_trigger(requests_total: int, clients: int, rounds: int) -> None:
    apikey, token = "bench-apikey-0123456789", "bench-webhook-token-0123456789abcdef"
    with tempfile.TemporaryDirectory() as tmp, LocalCloud() as cloud:
        env = trigger_env(cloud, apikey=apikey, job="certsync", token=token)
        # The image is not registered, so each run fails at once without starting a process:
        # the benchmark measures the trigger, not the job.
        cloud.code_engine.create_job(
            {"name": "certsync", "image_reference": "icr.io/certsync/unregistered:bench"}
        )
        # Every rotation keeps its run here, so the project's job-run quota (100; enforced and
        # tested in test_limits) is lifted: this benchmark measures acknowledgements under load.
        cloud.code_engine.max_job_runs = rounds * requests_total
        trigger = Trigger(env, Path(tmp), token=token)
        bare = Trigger(
            {**base_env(), "PORT": str(free_port())}, Path(tmp), module="scripts.bare_app"
        )
        try:
            trigger.wait_ready()
            bare.wait_ready()
            boot = startup(env, Path(tmp))
            print(f"trigger: start to first /healthz 200: {boot:.2f} s (median of 5)")
            print(f"trigger: {requests_total} POSTs per round, {clients} concurrent clients")
            results = load_rounds(cloud, trigger, bare, token, requests_total, clients, rounds)
            for label, latencies in results.items():
                print(f"  {label:<22} {percentiles(latencies)}")
            runs = wait_for_runs(cloud, rounds * requests_total)
            print(
                f"  job runs submitted by the trigger: {runs} "
                f"of {rounds * requests_total} notifications"
            )
        finally:
            trigger.stop()
            bare.stop()


def load_rounds(  # noqa: PLR0917  (the bench's own knobs)
    cloud: LocalCloud,
    trigger: Trigger,
    bare: Trigger,
    token: str,
    requests_total: int,
    clients: int,
    rounds: int,
) -> dict[str, list[float]]:
    """Per round: the bare endpoint with rotations, the trigger with test events (acknowledged,
    nothing to run), the trigger with rotations (each also submits a job run)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    results: dict[str, list[float]] = {
        "bare Starlette 202": [],
        "trigger, test events": [],
        "trigger, rotations": [],
    }
    crn = cloud.identity.sm_instance_crn
    for r in range(rounds):
        tests = [notification(crn, n, "test_event") for n in range(requests_total)]
        bodies = [notification(crn, r * requests_total + n) for n in range(requests_total)]
        # Each round starts idle: the previous round's submissions have drained.
        results["bare Starlette 202"] += load(f"{bare.url}/events", bodies, headers, clients)
        results["trigger, test events"] += load(f"{trigger.url}/events", tests, headers, clients)
        results["trigger, rotations"] += load(f"{trigger.url}/events", bodies, headers, clients)
        wait_for_runs(cloud, (r + 1) * requests_total)
    return results


def startup(env: dict[str, str], tmp: Path, times: int = 5) -> float:
    """Seconds from starting `python -m trigger` to its first healthy answer (scale from zero)."""
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        process = Trigger({**env, "PORT": str(free_port())}, tmp, module="trigger")
        try:
            process.wait_ready()
            samples.append(time.perf_counter() - started)
        finally:
            process.stop()
    return statistics.median(samples)


def wait_for_runs(cloud: LocalCloud, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    count = len(cloud.code_engine.list_job_runs())
    while count < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        count = len(cloud.code_engine.list_job_runs())
    return count


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--mappings", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--requests", type=int, default=1000, help="trigger POSTs per round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["job", "trigger"])
    args = parser.parse_args()
    if args.only != "trigger":
        job_benchmarks(args)
    if args.only != "job":  # after the job's: its max RSS counts only job processes
        bench_trigger(args.requests, args.clients, args.rounds)


def job_benchmarks(args: argparse.Namespace) -> None:
    print(f"job: {args.mappings} mappings, {args.latency_ms:.0f} ms added to every API call")
    for concurrency in args.concurrency:
        r = bench_job(args.mappings, args.latency_ms / 1000, concurrency)
        print(
            f"  concurrency {concurrency:>2}: first run (creates) {r['first_run']:.2f} s "
            f"({r['first_run_calls']:.0f} calls), second run (no change) {r['second_run']:.2f} s "
            f"({r['second_run_calls']:.0f} calls), job max RSS {r['max_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
