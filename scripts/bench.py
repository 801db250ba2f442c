"""`make bench`: the job's and the trigger's benchmarks, one after the other.

- `scripts.bench_job`: 1,000 mappings over 10 local projects with 20 ms added to every API call,
  a first run and an unchanged second run: wall time against the ideal (calls x latency /
  concurrency), calls per mapping, CPU per mapping, process start to the first API call.
- `scripts.bench_trigger`: acknowledgement latency of the trigger receiving rotations (each
  submitting a job run) against a bare Starlette endpoint answering 202, in the same run, with
  an asyncio raw-socket load generator on its own CPU: 50 concurrent clients, then an open loop
  at 200 requests/s.

Each module says how it separates the CPU of what is measured from the CPU of what measures.
- `scripts.bench_inventory` (`--inventory`): `deploy inventory` of 10 projects, 100 TLS secrets
  and 50 domains with 100 ms added to every API call and TLS handshake, against the time those
  need 16 at a time.

`BENCH_ARGS="--job --mappings 200"`, `--trigger ...` or `--inventory ...` runs one of them with its
own options.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from scripts import bench_inventory, bench_job, bench_trigger


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--job":
        return bench_job.main(args[1:])
    if args and args[0] == "--trigger":
        return bench_trigger.main(args[1:])
    if args and args[0] == "--inventory":
        return bench_inventory.main(args[1:])
    if args:
        print(
            "usage: python -m scripts.bench [--job|--trigger|--inventory [options]]",
            file=sys.stderr,
        )
        return 2
    status = bench_job.main(["--mappings", "1000", "--projects", "10"])
    print()
    return bench_trigger.main([]) or status


if __name__ == "__main__":
    sys.exit(main())
