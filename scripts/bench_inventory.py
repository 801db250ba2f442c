"""`deploy inventory`'s benchmark (issue 19): an account of 10 projects over 5 regions holding 100
TLS secrets, 50 of them served on custom domains, with `--latency-ms` (100) added to every API call
and to every TLS handshake with the Code Engine routers.

`python -m scripts.bench_inventory [--projects 10] [--secrets 100] [--domains 50]
[--latency-ms 100]`

The ideal is what the calls and the handshakes need when 16 run at a time:
(API calls + handshakes) x latency / 16. `python -m deploy inventory --json` runs as its own
process, as a user runs it; its wall time is taken from spawn to exit (so it includes the
interpreter's start and `deploy`'s own look-ups: the API key's details, the project, the Secrets
Manager and Event Notifications instances), and also from its first API call to its exit, which
is what the issue's bound (2x the ideal) is checked against: the interpreter's start (~0.6 s of
imports) is no API call or handshake.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from localcloud import LocalCloud, zygote
from localcloud.code_engine.project_space import ProjectSpace
from localcloud.pki import Profile, issue, make_chain
from localcloud.secrets_manager.model import CertificateParts
from scripts.bench_job import REGIONS
from scripts.deploy_local import admin_key, local_config, write_config
from scripts.processes import ROOT, base_env

WORKERS = 16  # deploy/inventory_read.py WORKERS


def seed(
    cloud: LocalCloud, projects: int, secrets: int, domains: int
) -> tuple[list[ProjectSpace], list[str], str]:
    """The projects, secrets and domains; returns the projects, the CERTSYNC_CONNECT_TO
    entries and the root CA's PEM."""
    root = issue("bench root", profile=Profile(ca=True, days=3650))
    intermediate = issue("bench intermediate", issuer=root, profile=Profile(ca=True, days=1800))
    ce = cloud.code_engine
    spaces: list[ProjectSpace] = [ce]
    for n in range(1, projects):
        spaces.append(ce.project_space(ce.add_project(f"bench-{n}", region=REGIONS[n % 5])))
    for space in spaces:
        space.domain_mappings.trust_root(root.cert)
        space.domain_mappings.ready_seconds = 0.0
        space.apps.seed("web")
    connect_to = []
    for n in range(secrets):
        space = spaces[n % len(spaces)]
        chain = make_chain(f"site-{n}.example.com", days=10 + n, ca=(root, intermediate))
        data = {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem}
        space.secrets.put(f"tls-{n}", "tls", data)
        if n % 2 == 0:  # half of them are in Secrets Manager too
            parts = CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
            cloud.secrets_manager.seed_certificate("imported_cert", f"cert-{n}", parts)
        if n < domains:
            domain = f"site-{n}.example.com"
            component = {"name": "web", "resource_type": "app_v2"}
            space.domain_mappings.create(
                {"name": domain, "component": component, "tls_secret": f"tls-{n}"}
            )
            connect_to.append(f"{domain}:443:127.0.0.1:{space.router.port}")
    for space in spaces:
        for mapping in space.domain_mappings.list():
            _wait_ready(space, mapping["name"])
    return spaces, connect_to, root.cert_pem


def _wait_ready(space: ProjectSpace, name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if space.domain_mappings.get(name)["status"] == "ready":
            return
        time.sleep(0.01)
    raise SystemExit(f"domain mapping {name} did not become ready")


def bench(projects: int, secrets: int, domains: int, latency: float) -> int:
    with LocalCloud() as cloud, tempfile.TemporaryDirectory() as tmp:
        spaces, connect_to, root_pem = seed(cloud, projects, secrets, domains)
        anchors = Path(tmp) / "root.pem"
        anchors.write_text(root_pem)
        config = local_config(cloud, [])
        config["mappings"] = [{"secret": "00000000-0000-4000-8000-000000000009", "target": "x"}]
        config["code_engine"]["urls"] = {r: cloud.code_engine_url_for(r) for r in REGIONS}
        config["env"]["job"]["CERTSYNC_TRUST_ANCHORS_FILE"] = str(anchors)
        path = write_config(Path(tmp) / "certsync.yaml", config)
        apikey = admin_key(cloud)
        cloud.faults.latency_all = latency
        for space in spaces:
            space.router.handshake_latency = latency
        cloud.requests.clear()
        env = {
            **base_env(),
            "IBMCLOUD_API_KEY": apikey,
            "CERTSYNC_CONNECT_TO": ",".join(connect_to),
        }
        spawned = time.time()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "deploy", "inventory", "--config", str(path), "--json",
             "--regions", ",".join(REGIONS)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        ended = time.time()
        entries = cloud.requests.entries()
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise SystemExit(f"inventory failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)["summary"]
    first = min((e.received_at for e in entries), default=spawned)
    calls, handshakes = len(entries), domains
    ideal = (calls + handshakes) * latency / WORKERS
    print(
        f"inventory: {summary['projects']} projects, {summary['secrets']} TLS secrets, {domains} "
        f"domains; {latency * 1000:.0f} ms added to every API call and TLS handshake"
    )
    print(
        f"  wall {wall:.2f} s (spawn to exit); {ended - first:.2f} s from the first API call; "
        f"{calls} API calls + {handshakes} handshakes, ideal at {WORKERS} at a time "
        f"{ideal:.2f} s: x{wall / ideal:.2f} (x{(ended - first) / ideal:.2f} from the first call)"
    )
    return 0 if ended - first <= 2 * ideal else 1


def main(argv: Sequence[str] | None = None) -> int:
    os.environ[zygote.SWITCH] = "0"  # every process exec'd: what is measured includes its start
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_inventory")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--secrets", type=int, default=100)
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args(argv)
    return bench(args.projects, args.secrets, args.domains, args.latency_ms / 1000)


if __name__ == "__main__":
    sys.exit(main())
