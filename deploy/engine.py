"""Read the account, plan, apply, destroy: the one place that sequences the adapters."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from deploy.clients import AccountClients, Clients
from deploy.code_engine import CodeEngine
from deploy.config import Config
from deploy.desired import desired, manual_steps
from deploy.events import Events
from deploy.iam import Iam
from deploy.instances import EVENT_NOTIFICATIONS, SECRETS_MANAGER, InstanceError, Wanted, look_up
from deploy.model import ORDER, Action, Change, Facts, Found, Kind, Known, Resource
from deploy.plan import plan, teardown
from deploy.references import ReferenceProblems, check
from shared.crn import instance_crn
from shared.errors import CertsyncError
from shared.settings import SecretValue

T = TypeVar("T")

Progress = Callable[[str], None]


class Adapter(Protocol):
    kinds: tuple[Kind, ...]

    def read(self) -> list[Found]: ...
    def create(self, resource: Resource, known: Known) -> Found: ...
    def update(self, resource: Resource, found: Found, known: Known) -> Found: ...
    def delete(self, found: Found) -> None: ...


class DeployError(CertsyncError):
    """The account cannot be made to match the config; the message names what and why."""


def lookup_facts(clients: AccountClients, config: Config) -> Facts:
    """Who the key's account is, the project's id and CRN, and where the Secrets Manager and
    Event Notifications instances are (read-only calls)."""
    from ibm_code_engine_sdk.code_engine_v2 import ProjectsPager

    # Four independent reads, sent together (a real call takes tens to hundreds of ms); the
    # authenticator's token is fetched once, the others waiting for it (`RetryablePacing`).
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="certsync-lookup") as pool:

        def submit(call: Callable[[], T]) -> Future[T]:
            return pool.submit(contextvars.copy_context().run, call)

        details_read = submit(
            lambda: clients.call(
                lambda: clients.identity.get_api_keys_details(iam_api_key=clients.apikey.reveal()),
                "get the API key's details",
            )
        )
        projects_read = submit(
            lambda: clients.pages(
                ProjectsPager(client=clients.code_engine, limit=100), "list Code Engine projects"
            )
        )
        lookups = [
            (wanted.service, submit(functools.partial(look_up, clients, wanted)))
            for wanted in _instances(config)
        ]
        account = str(details_read.result().get("account_id") or "")
        projects = projects_read.result()
        problems = []
        instances = {}
        for service, lookup in lookups:
            try:
                instances[service] = lookup.result()
            except InstanceError as exc:
                problems.append(str(exc))
    project = next((p for p in projects if config.project in (p.get("name"), p.get("id"))), None)
    if project is None:
        problems.append(
            f"Code Engine project '{config.project}' was not found in {config.region}: create it "
            f"(ibmcloud ce project create --name {config.project}) or fix 'code_engine.project'"
        )
    if problems or project is None:
        raise ReferenceProblems(problems)
    sm, en = instances[SECRETS_MANAGER], instances[EVENT_NOTIFICATIONS]
    return Facts(
        account_id=account,
        project_id=str(project["id"]),
        project_name=str(project.get("name") or config.project),
        project_crn=str(
            project.get("crn")
            or instance_crn("codeengine", config.region, account, str(project["id"]))
        ),
        sm_crn=sm.crn,
        en_crn=en.crn,
        sm_url=sm.url,
        en_url=en.url,
    )


def _instances(config: Config) -> tuple[Wanted, ...]:
    """The Secrets Manager and Event Notifications instances, as certsync.yaml names them."""
    return (
        Wanted(
            "secrets_manager.instance_id",
            SECRETS_MANAGER,
            config.sm_instance,
            config.sm_instance_crn,
            config.secrets_manager_url,
        ),
        Wanted(
            "event_notifications.instance_id",
            EVENT_NOTIFICATIONS,
            config.en_instance,
            config.en_instance_crn,
            config.event_notifications_url,
        ),
    )


@dataclass
class Plan:
    changes: list[Change]
    manual: list[str]
    prune: list[Change] = field(default_factory=list)  # certsync's own, no longer wanted

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.CONFLICT]

    @property
    def writes(self) -> list[Change]:
        return [c for c in [*self.changes, *self.prune] if c.writes]

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for change in [*self.changes, *self.prune]:
            counts[change.action.value] = counts.get(change.action.value, 0) + 1
        return {
            "changes": [c.to_dict() for c in [*self.changes, *self.prune]],
            "manual": self.manual,
            "summary": counts,
        }


class Session:
    """One run of `deploy`: the config, the facts and one adapter per service."""

    def __init__(self, config: Config, clients: Clients, facts: Facts, progress: Progress) -> None:
        self.config = config
        self.clients = clients
        self.facts = facts
        self.progress = progress
        self.iam = Iam(clients, config, facts)
        self.code_engine = CodeEngine(clients, config, facts, progress)
        self.events = Events(clients, config, facts, progress)
        self.adapters: list[Adapter] = [self.iam, self.code_engine, self.events]
        # What was read, then what each write made: the facts later steps need (`Known`).
        self.found: dict[tuple[Kind, str], Found] = {}

    def adapter(self, kind: Kind) -> Adapter:
        return next(a for a in self.adapters if kind in a.kinds)

    def references(self) -> dict[int, str]:
        """Mapping index -> why its secret cannot be synced (missing, not a certificate, another
        instance's), read with the user's key; empty when every mapping points at a certificate."""
        refs = [str(m.get("secret") or "") for m in self.config.mappings_written]
        return check(self.clients, refs, self.facts.sm_crn)

    def check_references(self) -> None:
        """ReferenceProblems, one line per mapping, before anything is planned or changed."""
        problems = self.references()
        if problems:
            raise ReferenceProblems(list(problems.values()))

    def read(self) -> dict[tuple[Kind, str], Found]:
        self.found = {f.key: f for adapter in self.adapters for f in adapter.read()}
        return self.found

    def learnt(self, kind: Kind, name: str, key: str) -> Any:
        """A fact read or written so far (a handle's `id`, `url`, `token`), or None."""
        found = self.found.get((kind, name))
        return None if found is None else found.handle.get(key)

    def app_url(self) -> str | None:
        """The trigger app's public URL, once it is ready."""
        url = self.learnt(Kind.APP, self.config.app_name, "url")
        return None if url is None else str(url)

    def webhook_token(self) -> SecretValue | None:
        """The bearer token in the webhook secret, once it is read or created."""
        token = self.learnt(Kind.SECRET, self.config.webhook_secret_name, "token")
        return token if isinstance(token, SecretValue) else None

    def wanted(self) -> list[Resource]:
        alert_source = self.learnt(Kind.SOURCE, self.config.alerts_name, "id")
        return desired(self.config, self.facts, app_url=self.app_url(), alert_source=alert_source)

    def plan(self) -> Plan:
        found = self.read()
        wanted = self.wanted()
        keys = {r.key for r in wanted}
        prune = [
            Change(Action.DELETE, f.kind, f.name, ("no longer in the config",), found=f)
            for f in found.values()
            if f.managed and f.key not in keys
        ]
        prune.sort(key=lambda c: ORDER.index(c.kind), reverse=True)
        return Plan(plan(wanted, found), manual_steps(self.config), prune)

    def apply(self, planned: Plan, report: Callable[[Change], None]) -> list[Change]:
        """Carry out `planned` kind by kind. Each change is planned again just before it is
        carried out: some values exist only once an earlier step is done (the trigger app's URL
        for the destination, the alerts source's id for the job and the alerts topic)."""
        if planned.conflicts:
            names = ", ".join(f"{c.kind.value} '{c.name}'" for c in planned.conflicts)
            raise DeployError(f"nothing changed: {names} exist but were not created by certsync")
        done: list[Change] = []
        for planned_change in planned.changes:
            change = self._replan(planned_change)
            if not change.writes:
                continue
            self._carry_out(change)
            report(change)
            done.append(change)
        for change in planned.prune:
            self._carry_out(change)
            report(change)
            done.append(change)
        return done

    def _replan(self, change: Change) -> Change:
        if change.wanted is None:
            return change
        fresh = next(r for r in self.wanted() if r.key == (change.kind, change.name))
        return plan([fresh], {change.found.key: change.found} if change.found else {})[0]

    def _carry_out(self, change: Change) -> None:
        adapter, key = self.adapter(change.kind), (change.kind, change.name)
        if change.action is Action.CREATE and change.wanted is not None:
            self.found[key] = adapter.create(change.wanted, self.found)
        elif change.action in {Action.UPDATE, Action.REPLACE} and change.wanted and change.found:
            self.found[key] = adapter.update(change.wanted, change.found, self.found)
        elif change.action is Action.DELETE and change.found is not None:
            adapter.delete(change.found)
            self.found.pop(key, None)

    def destroy_plan(self) -> list[Change]:
        return teardown(self.read().values())

    def destroy(self, changes: list[Change], report: Callable[[Change], None]) -> None:
        for change in changes:
            if change.action is Action.DELETE:
                self._carry_out(change)
                report(change)
