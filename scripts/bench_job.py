"""The job's benchmark (issue 11): many mappings with latency added to every API call.

`python -m scripts.bench_job [--mappings 1000] [--projects 1] [--latency-ms 20] [--concurrency 16]`

`--projects N` spreads the mappings over N local projects, the job's own and N-1 more in turn in
several regions (`REGIONS`), each region at its own base URL (CERTSYNC_CODE_ENGINE_URLS).

For each run of `python -m job` (a real process, as on Code Engine) against the local IBM Cloud:
- wall time, and the ideal it is compared with: calls x latency / concurrency;
- API calls (the emulator's request log), and per mapping on the unchanged second run;
- process start to first API call: the spawn time taken here just before `Popen`, against the
  request log's `received_at` of the first request (same clock, `time.time()`);
- CPU per mapping: the job process's own user+system time (RUSAGE_CHILDREN before and after it;
  it is the only child this process reaps).
CPU is separated by process: the emulator runs in this process (threads serving loopback HTTP),
the job in its own, and only the job's rusage is counted. On a machine with spare cores the two
are also pinned apart (`os.sched_setaffinity`): the job on the last core, this process on the
others.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud import LocalCloud
from localcloud.pki import issue, make_chain
from scripts.processes import ROOT, job_env

# Where `--projects` puts the projects besides the job's own (in us-south), in turn.
REGIONS = ("us-south", "eu-de", "jp-tok", "eu-gb", "au-syd")


@dataclass(frozen=True)
class Run:
    wall: float
    calls: int
    first_call: float  # seconds from spawn to the first request the emulator received
    cpu: float  # the job process's user + system seconds
    exit_code: int
    summary: dict[str, Any]
    server_cpu: float = 0.0  # the emulator's (this process's) CPU seconds over the same run


def add_projects(cloud: LocalCloud, mappings: int, projects: int) -> list[tuple[str, str]]:
    """(project id, region) of `projects` local projects: the job's own first, the others in
    turn in REGIONS (so 10 projects span every region). A real project holds at most 100
    secrets (docs `limits.md`); when more mappings than that land in one project, its quota is
    lifted for the bench rather than the run refused."""
    if projects < 1:
        raise SystemExit(f"--projects has value {projects}. Not a positive number.")
    ce = cloud.code_engine
    places = [(cloud.identity.project_id, cloud.identity.region)]
    for n in range(1, projects):
        region = REGIONS[n % len(REGIONS)]
        places.append((ce.add_project(f"bench-{n}", region=region), region))
    per_project = -(-mappings // projects)
    for project, _ in places:
        space = ce.project_space(project)
        space.max_secrets = max(space.max_secrets, per_project)
    return places


def seed(cloud: LocalCloud, mappings: int, projects: int) -> list[dict[str, str]]:
    """`mappings` certificates (one CA), each mapped to its own target, spread round-robin over
    `projects` projects (`"project"` and `"region"` in each mapping but those of the job's own)."""
    root = issue("bench root", ca=True, days=3650)
    intermediate = issue("bench intermediate", issuer=root, ca=True, days=1800)
    places = add_projects(cloud, mappings, projects)
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
        pair = {"secret": str(secret["id"]), "target": f"tls-{n}"}
        project, region = places[n % len(places)]
        if project != cloud.identity.project_id:
            pair |= {"project": project, "region": region}
        pairs.append(pair)
    return pairs


def regional_env(cloud: LocalCloud, pairs: list[dict[str, str]], path: Path) -> dict[str, str]:
    """CE_REGION (as Code Engine injects it), CERTSYNC_CODE_ENGINE_URLS for every region, and
    the mappings in a file (in place of CERTSYNC_MAPPINGS): with project and region, 1,000 of
    them are over the 128 KiB that Linux allows one environment variable (MAX_ARG_STRLEN)."""
    path.write_text(json.dumps(pairs))
    urls = {region: cloud.code_engine_url_for(region) for region in REGIONS}
    return {
        "CE_REGION": cloud.identity.region,
        "CERTSYNC_CODE_ENGINE_URLS": json.dumps(urls),
        "CERTSYNC_MAPPINGS_FILE": str(path),
    }


def run_once(cloud: LocalCloud, env: dict[str, str], cpu: int | None) -> Run:
    cloud.requests.clear()
    spawned = time.time()
    started = time.perf_counter()
    # Pinned by `taskset` rather than a `preexec_fn`: without one, Popen starts the child with
    # vfork, which takes the same time whatever this process's heap (forking a heap that holds
    # the first run's state added ~150 ms to the second run's "start").
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    process = subprocess.Popen(
        [*pin, sys.executable, "-m", "job"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=900)
    wall = time.perf_counter() - started
    entries = cloud.requests.entries()
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    summary: dict[str, Any] = next((x for x in lines if x.get("event") == "run_finished"), {})
    if not summary:
        raise SystemExit(f"the job printed no run_finished: {stderr[-2000:]}")
    first = min((e.received_at for e in entries), default=spawned)
    return Run(wall, len(entries), first - spawned, 0.0, process.returncode, summary)


def bench(mappings: int, projects: int, latency: float, concurrency: int) -> list[Run]:
    cpus = sorted(os.sched_getaffinity(0))
    job_cpu = cpus[-1] if len(cpus) > 1 else None
    if job_cpu is not None:
        os.sched_setaffinity(0, set(cpus[:-1]))
    try:
        return _bench(mappings, projects, latency, concurrency, job_cpu)
    finally:
        os.sched_setaffinity(0, set(cpus))  # `make bench` runs the trigger's bench next


def _bench(
    mappings: int, projects: int, latency: float, concurrency: int, job_cpu: int | None
) -> list[Run]:
    # As Dockerfile.job does: the image ships the app compiled, so no start compiles it.
    for package in ("job", "shared"):
        compileall.compile_dir(ROOT / package, quiet=1)
    with LocalCloud() as cloud, tempfile.TemporaryDirectory() as tmp:
        pairs = seed(cloud, mappings, projects)
        cloud.faults.latency_all = latency
        env = job_env(cloud, pairs, CERTSYNC_CONCURRENCY=str(concurrency), CERTSYNC_VERIFY="off")
        if projects > 1:
            del env["CERTSYNC_MAPPINGS"]
            env |= regional_env(cloud, pairs, Path(tmp) / "mappings.json")
        runs = []
        for _ in ("first", "second"):
            before, served_before = _children_cpu(), time.process_time()
            run = run_once(cloud, env, job_cpu)
            runs.append(
                _with_cpu(run, _children_cpu() - before, time.process_time() - served_before)
            )
        return runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _with_cpu(run: Run, cpu: float, server_cpu: float) -> Run:
    return Run(run.wall, run.calls, run.first_call, cpu, run.exit_code, run.summary, server_cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_job")
    parser.add_argument("--mappings", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    first, second = bench(args.mappings, args.projects, latency, args.concurrency)
    ideal = first.calls * latency / args.concurrency
    print(
        f"job: {args.mappings} mappings over {args.projects} project(s), {args.latency_ms:.0f} ms "
        f"added to every API call, concurrency {args.concurrency}"
    )
    print(
        f"  first run:  {first.wall:6.2f} s for {first.calls} calls; ideal {ideal:.2f} s "
        f"(x{first.wall / ideal:.2f}); CPU {first.cpu * 1000 / args.mappings:.2f} ms/mapping; "
        f"start to first API call {first.first_call * 1000:.0f} ms; emulator CPU "
        f"{first.server_cpu * 1000 / max(first.calls, 1):.2f} ms/call"
    )
    print(
        f"  second run: {second.wall:6.2f} s, {second.calls} calls "
        f"({second.calls / args.mappings:.3f} per mapping, one per "
        f"{args.mappings / max(second.calls, 1):.0f}); CPU "
        f"{second.cpu * 1000 / args.mappings:.2f} ms/mapping; start to first API call "
        f"{second.first_call * 1000:.0f} ms"
    )
    return 0 if first.exit_code == second.exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
