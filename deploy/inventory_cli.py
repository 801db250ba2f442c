"""`python -m deploy inventory [--regions r1,r2|all] [--json] [--html FILE]` and
`python -m deploy adopt [--write]`: read-only as the user (`IBMCLOUD_API_KEY`), except that
`adopt --write` adds mappings to the config file.

inventory exits 0, or 1 when any certificate a domain serves expires within
`CERTSYNC_EXPIRY_WARN_DAYS` (the job's setting: this process's environment, else `env.job` in
certsync.yaml, else 21) without a mapping that will renew it, or when something could not be read.
What a domain serves is read the way the job reads it, honouring `CERTSYNC_CONNECT_TO` (likewise
from the environment, else `env.job`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cryptography import x509

from deploy import adopt as adoption
from deploy import inventory_render as render
from deploy import regions as known_regions
from deploy.arguments import EXIT_OK, dump
from deploy.config import Config
from deploy.engine import Session
from deploy.inventory import Inventory, inventory, managing
from deploy.inventory_read import read_facts
from job.served import ServedCertificates
from job.variables import ConnectTo, parse_connect_to
from shared.errors import ConfigError
from shared.settings import EnvReader

EXIT_AT_RISK = 1
HANDSHAKE_TIMEOUT = 10.0


@dataclass(frozen=True)
class InventorySettings:
    warn_days: int
    connect_to: tuple[ConnectTo, ...]
    anchors: tuple[x509.Certificate, ...]
    discovery_label: str | None  # None: the job does not discover mappings

    @classmethod
    def from_env(cls, environ: Mapping[str, str], config: Config) -> InventorySettings:
        """The job's settings that decide the answer: this environment's, else the job's."""
        env = EnvReader({**config.job_env, **environ})
        connect_to: tuple[ConnectTo, ...] = ()
        try:
            connect_to = parse_connect_to(env.get("CERTSYNC_CONNECT_TO") or "")
        except ValueError as exc:
            env.problem(f"CERTSYNC_CONNECT_TO: {exc}.")
        anchors: tuple[x509.Certificate, ...] = ()
        path = env.get("CERTSYNC_TRUST_ANCHORS_FILE")
        if path:
            try:
                anchors = tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
            except (OSError, ValueError):
                env.problem(f"CERTSYNC_TRUST_ANCHORS_FILE has value {path!r}: no PEM read there.")
        discover = env.boolean("CERTSYNC_DISCOVER", False)
        settings = cls(
            warn_days=env.integer("CERTSYNC_EXPIRY_WARN_DAYS", 21, minimum=1, maximum=365),
            connect_to=connect_to,
            anchors=anchors,
            discovery_label=(env.get("CERTSYNC_DISCOVERY_LABEL") or "certsync")
            if discover
            else None,
        )
        env.check()
        return settings


def chosen_regions(given: str | None, config: Config) -> list[str]:
    if given is None:
        named = [config.region, *(m.region for m in config.mappings)]
        return list(dict.fromkeys(r for r in named if r))
    if given.strip() == "all":
        return list(known_regions.CODE_ENGINE)
    wanted = list(dict.fromkeys(r.strip() for r in given.split(",") if r.strip()))
    unknown = [
        r for r in wanted if r not in known_regions.CODE_ENGINE and r not in config.code_engine_urls
    ]
    if unknown or not wanted:
        raise ConfigError(
            [
                f"--regions has value {given!r}: use 'all' or a comma-separated list of "
                f"{known_regions.named(known_regions.CODE_ENGINE)}"
            ]
        )
    return wanted


def take_inventory(
    session: Session, args: argparse.Namespace, *, probe: bool
) -> tuple[Inventory, InventorySettings, dt.datetime]:
    from job.domains import public_roots  # the job's trust store (certifi's copy of Mozilla's)

    config = session.config
    settings = InventorySettings.from_env(args.environ, config)
    regions = chosen_regions(args.regions, config)
    session.progress(f"reading Code Engine projects in {', '.join(regions)}")
    served = ServedCertificates(settings.connect_to, timeout=HANDSHAKE_TIMEOUT) if probe else None
    facts = read_facts(session.clients, config, regions, served=served)
    now = dt.datetime.now(dt.UTC)
    home = (config.region, session.facts.project_id.lower())
    managed = managing(
        config.mappings,
        home,
        facts.certificates,
        discovery_label=settings.discovery_label,
        own=[config.canary_name],  # `doctor --canary`'s TLS secret
    )
    roots = (*public_roots(), *settings.anchors)
    found = inventory(facts, managed, now, warn_days=settings.warn_days, roots=roots)
    return found, settings, now


def run_inventory(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    found, settings, now = take_inventory(session, args, probe=True)
    if args.html:
        page = render.html_page(found, f"certsync inventory: {session.config.path}", now,
                                settings.warn_days)  # fmt: skip
        Path(args.html).write_text(page, encoding="utf-8")
        session.progress(f"wrote {args.html}")
    if args.json:
        dump(out, render.to_dict(found))
    else:
        print(render.text(found, header), file=out)
    return EXIT_AT_RISK if found.summary.at_risk or found.problems else EXIT_OK


def run_adopt(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    found, _, _ = take_inventory(session, args, probe=False)
    chosen, unmatched = adoption.proposals(found)
    written = bool(args.write and chosen)
    if written:
        adoption.write(session.config.path, chosen)
    if args.json:
        dump(out, {"ok": True, "written": written, **adoption.to_dict(chosen, unmatched)})
        return EXIT_OK
    print(adoption.text(chosen, unmatched, header), file=out)
    path = session.config.path
    if written:
        print(
            f"\nAdded {len(chosen)} mapping(s) to {path}. Next: python -m deploy plan --config "
            f"{path}, then python -m deploy apply --config {path}",
            file=out,
        )
    elif chosen:
        print(f"\nNothing written: run again with --write to add them to {path}.", file=out)
    return EXIT_OK
