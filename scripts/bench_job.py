"""The job's benchmark (issue 11): many mappings with latency added to every API call.

`python -m scripts.bench_job [--mappings 1000] [--projects 1] [--latency-ms 20] [--concurrency 16]`

`--projects N` spreads the mappings over N local projects, the job's own and N-1 more in turn in
several regions (`REGIONS`), each region at its own base URL (CERTSYNC_CODE_ENGINE_URLS).

For each run of `python -m job` (a real process, as on Code Engine) against the local IBM Cloud:
- wall time, and the ideal it is compared with: calls x latency / concurrency;
- API calls (the emulator's request log), and per mapping on the unchanged runs that follow
  (five; their figures are medians);
- process start to first API call: the spawn time taken here just before `Popen`, against the
  request log's `received_at` of the first request (same clock, `time.time()`);
- CPU per mapping: the job process's own user+system time (RUSAGE_CHILDREN before and after it;
  it is the only child this process reaps).
- peak memory of the first run: RUSAGE_CHILDREN's `ru_maxrss` right after it (the largest
  resident set of any child reaped so far, and the first run is the first child), which is what
  sizes the job's memory in Code Engine (README, "Cost").
- the floor: as many calls, as many at a time, from a client that costs next to nothing
  (`scripts.loadgen`: asyncio over raw sockets, every request encoded before the clock starts),
  each reading one of the targets the first run wrote. That is the wall time the local cloud
  itself allows (its own CPU per call queues the calls); the job's first run is compared with it
  as well as with the ideal.
CPU is separated by process: the emulator runs in this process (threads serving loopback HTTP),
the job in its own, and only the job's rusage is counted. On a machine with spare cores the two
are also pinned apart (`os.sched_setaffinity`): the job on the last core, this process on the
others.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud import LocalCloud, zygote
from localcloud.pki import Profile, issue, make_chain
from localcloud.secrets_manager.model import CertificateParts
from scripts import loadgen
from scripts.processes import APIKEY, ROOT, job_env
from shared.clients import CODE_ENGINE_API_VERSION, build_authenticator
from shared.settings import SecretValue, ServiceAuth

# The unchanged run is repeated and its figures are medians: a start of ~0.3 s varies by tens
# of milliseconds from one process to the next.
UNCHANGED_RUNS = 5

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
    peak_rss_mb: float = 0.0  # the largest resident set of the job processes so far (MB)


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
        space.secrets.max_secrets = max(space.secrets.max_secrets, per_project)
    return places


def seed(cloud: LocalCloud, mappings: int, projects: int) -> list[dict[str, str]]:
    """`mappings` certificates (one CA), each mapped to its own target, spread round-robin over
    `projects` projects (`"project"` and `"region"` in each mapping but those of the job's own)."""
    root = issue("bench root", profile=Profile(ca=True, days=3650))
    intermediate = issue("bench intermediate", issuer=root, profile=Profile(ca=True, days=1800))
    places = add_projects(cloud, mappings, projects)
    pairs = []
    for n in range(mappings):
        chain = make_chain(f"site-{n}.example.com", ca=(root, intermediate))
        parts = CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
        secret = cloud.secrets_manager.seed_certificate("imported_cert", f"bench-{n}", parts)
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


def bench(
    mappings: int, projects: int, latency: float, concurrency: int
) -> tuple[list[Run], Floor]:
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
) -> tuple[list[Run], Floor]:
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
        for _ in range(1 + UNCHANGED_RUNS):
            before, served_before = _children_cpu(), time.process_time()
            run = run_once(cloud, env, job_cpu)
            runs.append(
                _with_cpu(run, _children_cpu() - before, time.process_time() - served_before)
            )
        return runs, floor(cloud, pairs, runs[0].calls, concurrency, job_cpu)


def median_run(runs: Sequence[Run]) -> Run:
    """Each figure the median of `runs` (the calls, the most any of them made)."""
    return Run(
        wall=statistics.median(r.wall for r in runs),
        calls=max(r.calls for r in runs),
        first_call=statistics.median(r.first_call for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
        exit_code=max(r.exit_code for r in runs),
        summary=runs[-1].summary,
        server_cpu=statistics.median(r.server_cpu for r in runs),
    )


@dataclass(frozen=True)
class Floor:
    wall: float
    calls: int
    cpu: float  # the client's CPU seconds


def floor(
    cloud: LocalCloud, pairs: list[dict[str, str]], calls: int, concurrency: int, cpu: int | None
) -> Floor:
    """`calls` reads of the targets in `pairs`, `concurrency` at a time, by `--floor-client` in
    its own process (pinned as the job is)."""
    token = _token(cloud)
    home = cloud.identity.project_id
    requests = []
    for n in range(calls):
        pair = pairs[n % len(pairs)]
        region = pair.get("region")
        base = cloud.code_engine_url_for(region) if region else cloud.code_engine_url
        parts = urlsplit(base)
        path = (
            f"{parts.path}/projects/{pair.get('project', home)}/secrets/{pair['target']}"
            f"?version={CODE_ENGINE_API_VERSION}"
        )
        requests.append(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\n\r\n"
        )
    parts = urlsplit(cloud.code_engine_url)
    spec = {"url": f"http://{parts.netloc}/", "clients": concurrency, "requests": requests}
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    done = subprocess.run(
        [*pin, sys.executable, "-m", "scripts.bench_job", "--floor-client"],
        cwd=ROOT,
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    answer = json.loads(done.stdout)
    if answer["statuses"] != {"200": calls}:
        raise SystemExit(f"the floor's reads did not all succeed: {answer['statuses']}")
    return Floor(answer["wall"], calls, answer["cpu"])


def _token(cloud: LocalCloud) -> str:
    auth = ServiceAuth("BENCH", "iam", apikey=SecretValue(APIKEY), auth_url=cloud.iam_url)
    return str(build_authenticator(auth).token_manager.get_token())


def floor_client() -> int:
    """`--floor-client`: the spec on stdin, the result on stdout (JSON)."""
    spec = json.loads(sys.stdin.read())
    raw = [r.encode("latin-1") for r in spec["requests"]]
    result = asyncio.run(loadgen.closed_loop(loadgen.Target.of(spec["url"]), raw, spec["clients"]))
    statuses = {str(k): v for k, v in result.statuses.items()}
    print(
        json.dumps({"wall": result.wall_seconds, "cpu": result.cpu_seconds, "statuses": statuses})
    )
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _with_cpu(run: Run, cpu: float, server_cpu: float) -> Run:
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e6  # KiB on Linux
    return Run(
        run.wall, run.calls, run.first_call, cpu, run.exit_code, run.summary, server_cpu, peak
    )


def main(argv: Sequence[str] | None = None) -> int:
    os.environ[zygote.SWITCH] = "0"  # every process exec'd: what is measured includes its start
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_job")
    parser.add_argument("--mappings", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--floor-client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_client:
        return floor_client()
    latency = args.latency_ms / 1000
    (first, *unchanged), least = bench(args.mappings, args.projects, latency, args.concurrency)
    second = median_run(unchanged)
    ideal = first.calls * latency / args.concurrency
    print(
        f"job: {args.mappings} mappings over {args.projects} project(s), {args.latency_ms:.0f} ms "
        f"added to every API call, concurrency {args.concurrency}"
    )
    print(
        f"  first run:  {first.wall:6.2f} s for {first.calls} calls; ideal {ideal:.2f} s "
        f"(x{first.wall / ideal:.2f}); CPU {first.cpu * 1000 / args.mappings:.2f} ms/mapping; "
        f"start to first API call {first.first_call * 1000:.0f} ms; emulator CPU "
        f"{first.server_cpu * 1000 / max(first.calls, 1):.2f} ms/call; CPU {first.cpu:.2f} s, "
        f"peak RSS {first.peak_rss_mb:.0f} MB"
    )
    print(
        f"  unchanged run (median of {len(unchanged)}): {second.wall:6.2f} s, {second.calls} calls "
        f"({second.calls / args.mappings:.3f} per mapping, one per "
        f"{args.mappings / max(second.calls, 1):.0f}); CPU "
        f"{second.cpu * 1000 / args.mappings:.2f} ms/mapping; start to first API call "
        f"{second.first_call * 1000:.0f} ms"
    )
    print(
        f"  floor:      {least.wall:6.2f} s for {least.calls} reads, {args.concurrency} at a time, "
        f"by a client costing {least.cpu * 1000 / least.calls:.3f} ms of CPU a call "
        f"(x{least.wall / ideal:.2f} of the ideal): what the local cloud itself allows; the first "
        f"run took x{first.wall / least.wall:.2f} of it"
    )
    return 0 if all(r.exit_code == 0 for r in (first, *unchanged)) else 1


if __name__ == "__main__":
    sys.exit(main())
