"""What certsync's own runs made, which `apply` does not manage, and what `destroy` cannot remove.

Made by certsync's runs, so `destroy` removes them too:
- the job's status record, the config map `CERTSYNC_STATUS_CONFIGMAP` (default `certsync-status`),
  when every key in it is a status entry (a config map of that name holding anything else is the
  user's and is left, saying so);
- `doctor --canary`'s certificate `<name>-canary` in Secrets Manager, found by its name and its
  label `certsync-canary` (deploy/canary.py), and the TLS secret `<name>-canary` the job wrote for
  it, recognised by the canary's own certificate inside (`<name>-canary.certsync.invalid`). They
  exist only for the check, nothing serves them, and a Secrets Manager secret is billed while it
  exists: leaving them would leave certsync behind.

Never removed, printed with the command that does it:
- the nightly cron subscription: Code Engine's v2 API has no subscriptions, so `destroy` can
  neither see nor delete it (docs `codeengine` cmd_defs.md, `subscription cron delete`);
- the TLS secrets the job wrote for the mappings: the user's domains serve them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from deploy.canary_setup import LABEL, find_certificate, is_canary
from deploy.engine import Session
from deploy.model import Action, Change, Found, Kind
from deploy.status import status_store
from job.status import from_data
from shared.errors import CertsyncError, NotFoundError


class Leftovers:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.config = session.config
        self.clients = session.clients
        self.canary = self.config.canary_name

    def changes(self) -> list[Change]:
        """`destroy`'s changes for what the runs made: delete certsync's, leave the rest."""
        return [c for c in (self._status(), self._canary_secret(), self._certificate()) if c]

    def delete(self, change: Change) -> None:
        found = change.found
        if change.action is not Action.DELETE or found is None:
            return
        if found.kind is Kind.CERTIFICATE:
            sm, secret_id = self.clients.secrets_manager, str(found.handle["id"])
            with contextlib.suppress(NotFoundError):  # already gone
                self.clients.call(
                    lambda: sm.delete_secret(id=secret_id),
                    f"delete Secrets Manager certificate '{found.name}'",
                )
        else:
            self.session.code_engine.delete(found)

    # -- what the runs made ------------------------------------------------------------------
    def _status(self) -> Change | None:
        name = status_store(self.clients, self.config, self.session.facts.project_id).name
        body = self._get(lambda ce, p: ce.get_config_map(project_id=p, name=name), name)
        if body is None:
            return None
        data = dict(body.get("data") or {})
        ours = bool(data) and len(from_data(data)) == len(data)
        why = "the job's status record" if ours else "holds more than certsync's status record"
        return _change(Kind.CONFIG_MAP, name, ours, why)

    def _canary_secret(self) -> Change | None:
        name = self.canary
        body = self._get(lambda ce, p: ce.get_secret(project_id=p, name=name), name)
        if body is None:
            return None
        pem = str((body.get("data") or {}).get("tls_cert") or "")
        ours = body.get("format") == "tls" and is_canary(pem, name)
        why = "written for doctor --canary" if ours else "does not hold the canary's certificate"
        return _change(Kind.SECRET, name, ours, why)

    def _certificate(self) -> Change | None:
        try:
            secret_id = find_certificate(self.session)
        except CertsyncError:  # one of that name without certsync's label: the user's
            return _change(Kind.CERTIFICATE, self.canary, False, f"no label '{LABEL}'")
        if secret_id is None:
            return None
        return _change(
            Kind.CERTIFICATE, self.canary, True, "doctor --canary's", handle={"id": secret_id}
        )

    def _get(self, request: Any, name: str) -> dict[str, Any] | None:
        ce, project = self.clients.code_engine, self.session.facts.project_id
        try:
            return self.clients.call(lambda: request(ce, project), f"get '{name}' in Code Engine")
        except NotFoundError:
            return None


def by_hand(session: Session) -> list[str]:
    """What `destroy` leaves, each with the command that removes it."""
    c, project = session.config, session.facts.project_name
    steps = [
        f"the safety-net schedule, if you created it (Code Engine's API has no subscriptions, so "
        f"destroy cannot see it): in project '{project}', run\n"
        f"    ibmcloud ce subscription cron delete --name {c.name}-nightly --force "
        "--ignore-not-found"
    ]
    targets = [(m.target, m.project or project) for m in c.mappings]
    if targets:
        names = ", ".join(
            f"'{t}'" + ("" if p == project else f" (project {p})") for t, p in targets
        )
        steps.append(
            f"the TLS secrets certsync wrote for your mappings are kept (your domains serve them): "
            f"{names}; once no domain mapping uses one, run\n"
            "    ibmcloud ce secret delete --name <secret>"
        )
    return steps


def _change(
    kind: Kind, name: str, ours: bool, why: str, handle: dict[str, Any] | None = None
) -> Change:
    found = Found(kind, name, {}, ours, handle or {})
    if ours:
        return Change(Action.DELETE, kind, name, (f"made by certsync's runs: {why}",), found=found)
    return Change(Action.LEAVE, kind, name, (f"not certsync's: {why}",), found=found)
