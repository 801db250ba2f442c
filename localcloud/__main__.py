"""`python -m localcloud`: serve the local IBM Cloud as its own process.

Prints one JSON line when ready on stdout (every URL and id a certsync.yaml needs: IAM, the Resource
Controller, Code Engine and its project's id and name, the Secrets Manager and Event Notifications
instances' ids, CRNs and URLs; and the Code Engine router's TLS port), the same as a certsync.yaml
fragment on stderr for a person, then serves until SIGINT/SIGTERM. Each instance
may be in a region of its own (`--sm-region`, `--en-region`). Images that job runs may execute are
fixed at start (`--image REF=COMMAND`), never over HTTP: the emulator runs only the commands its
operator named. So are the apps that domain mappings may target (`--app`) and the root CAs their
certificates must chain to (`--trust-root`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading

from localcloud.account import Identity
from localcloud.cloud import LocalCloud
from localcloud.http import BadRequest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--apikey", action="append", default=[], help="an API key IAM accepts")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="REF=COMMAND",
        help="run COMMAND for job runs of image REF (e.g. 'icr.io/x/job:1=python -m job')",
    )
    parser.add_argument("--region", default="us-south", help="the Code Engine project's region")
    parser.add_argument("--sm-region", default="", help="Secrets Manager's (default: --region)")
    parser.add_argument("--en-region", default="", help="Event Notifications' (default: --region)")
    parser.add_argument("--cwd", default=None, help="working directory for image commands")
    parser.add_argument(
        "--app", action="append", default=[], help="an app that domain mappings may target"
    )
    parser.add_argument(
        "--trust-root",
        action="append",
        default=[],
        metavar="PEM_FILE",
        help="root CA certificate(s) that domain mapping certificates must chain to",
    )
    args = parser.parse_args(argv)
    cloud = LocalCloud(
        Identity(region=args.region, sm_region=args.sm_region, en_region=args.en_region)
    )
    for key in args.apikey:
        cloud.iam.add_apikey(key)
    for spec in args.image:
        ref, _, command = spec.partition("=")
        if not ref or not command:
            parser.error(f"--image {spec!r}: expected REF=COMMAND")
        cloud.code_engine.register_image(ref, shlex.split(command), cwd=args.cwd)
    for app in args.app:
        try:
            cloud.code_engine.apps.seed(app)
        except BadRequest as exc:
            parser.error(f"--app {app!r}: {exc.message}")
    for path in args.trust_root:
        try:
            with open(path, encoding="ascii") as pem:
                cloud.code_engine.domain_mappings.trust_root(pem.read())
        except (OSError, ValueError) as exc:
            parser.error(f"--trust-root {path!r}: {exc}")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with cloud.start(args.host, args.port):
        ready = ready_line(cloud)
        print(json.dumps(ready), flush=True)
        print(certsync_yaml_fragment(ready), file=sys.stderr, flush=True)
        stop.wait()
    return 0


def ready_line(cloud: LocalCloud) -> dict[str, object]:
    """Every URL and id a certsync.yaml (and a test) needs to point at this cloud."""
    identity = cloud.identity
    return {
        "url": cloud.url,
        "iam_url": cloud.iam_url,
        "resource_controller_url": cloud.resource_controller_url,
        "code_engine_url": cloud.code_engine_url,
        "router_port": cloud.router_port,
        "project_id": identity.project_id,
        "project_name": str(cloud.code_engine.project().to_dict()["name"]),
        "region": identity.region,
        "secrets_manager_url": cloud.secrets_manager_url,
        "sm_instance_id": identity.sm_instance_id,
        "sm_instance_crn": identity.sm_instance_crn,
        "event_notifications_url": cloud.event_notifications_url,
        "en_instance_id": identity.en_instance_id,
        "en_instance_crn": identity.en_instance_crn,
    }


def certsync_yaml_fragment(ready: dict[str, object]) -> str:
    """The same, as the part of a certsync.yaml that points deploy here (for a person)."""
    return "\n".join(
        [
            f"Local IBM Cloud ready at {ready['url']}. In certsync.yaml:",
            f"  region: {ready['region']}",
            f"  iam_url: {ready['iam_url']}",
            f"  resource_controller_url: {ready['resource_controller_url']}",
            "  code_engine:",
            f"    project: {ready['project_name']}   # id {ready['project_id']}",
            f"    url: {ready['code_engine_url']}",
            "  secrets_manager:",
            f"    instance_id: {ready['sm_instance_id']}   # {ready['sm_instance_crn']}",
            f"    url: {ready['secrets_manager_url']}",
            "  event_notifications:",
            f"    instance_id: {ready['en_instance_id']}   # {ready['en_instance_crn']}",
            f"    url: {ready['event_notifications_url']}",
            "(--apikey KEY gives the key IAM accepts: IBMCLOUD_API_KEY=KEY python -m deploy ...)",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
