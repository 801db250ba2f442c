import datetime as dt
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException

from shared.errors import PermanentError
from shared.retry import RetryPolicy
from shared.runs import (
    MAX_FAILED_KEPT,
    Retention,
    RunHistory,
    RunInfo,
    runs_to_delete,
)
from shared.settings import EnvReader

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
JOB = "certsync"


def run(name: str, hours_ago: float, status: str = "completed", job: str | None = JOB) -> RunInfo:
    return RunInfo(name, job, status, NOW - dt.timedelta(hours=hours_ago))


def delete(runs: list[RunInfo], **changes: Any) -> list[str]:
    options: dict[str, Any] = {"job_name": JOB, "retention": Retention(), "now": NOW, **changes}
    return runs_to_delete(runs, **options)


def test_the_newest_finished_runs_are_kept_and_older_ones_deleted():
    runs = [run(f"r{i}", hours_ago=i) for i in range(15)]

    assert delete(runs, retention=Retention(recent=10)) == ["r10", "r11", "r12", "r13", "r14"]


def test_pending_and_running_runs_are_never_deleted():
    runs = [run(f"r{i}", hours_ago=i, status="pending") for i in range(20)]
    runs += [run(f"s{i}", hours_ago=i, status="running") for i in range(20)]

    assert delete(runs, retention=Retention(recent=1)) == []


def test_runs_of_other_jobs_are_never_deleted():
    runs = [run(f"mine{i}", hours_ago=i) for i in range(3)]
    runs += [run(f"user{i}", hours_ago=100 + i, job="nightly-report") for i in range(30)]
    runs += [run("standalone", hours_ago=500, job=None)]

    assert delete(runs, retention=Retention(recent=1)) == ["mine1", "mine2"]


def test_the_run_doing_the_pruning_is_never_deleted():
    runs = [run("current", hours_ago=50), run("r1", hours_ago=1)]

    assert delete(runs, retention=Retention(recent=1), current="current") == []


def test_recent_failed_runs_are_kept_to_investigate_old_ones_are_not():
    runs = [run("ok0", 0), run("ok1", 1)]
    runs += [run("failed-yesterday", 24, "failed"), run("failed-last-week", 24 * 6, "failed")]

    assert delete(runs, retention=Retention(recent=2, failed_days=3)) == ["failed-last-week"]


def test_kept_failed_runs_are_bounded():
    runs = [run(f"f{i:02}", hours_ago=1 + i, status="failed") for i in range(40)]

    doomed = delete(runs, retention=Retention(recent=1, failed_days=7))

    assert len(runs) - len(doomed) == 1 + MAX_FAILED_KEPT
    assert doomed == [f"f{i:02}" for i in range(1 + MAX_FAILED_KEPT, 40)]


def test_a_run_of_unknown_age_is_kept():
    runs = [run("r0", 0), RunInfo("undated", JOB, "completed", None)]

    assert delete(runs, retention=Retention(recent=1)) == []


def test_retention_from_env_defaults_and_bounds():
    assert Retention.from_env(EnvReader({})) == Retention(recent=10, failed_days=3)
    env = EnvReader({"CERTSYNC_KEEP_RUNS": "0", "CERTSYNC_KEEP_FAILED_DAYS": "8"})
    Retention.from_env(env)
    assert [p.split(" has")[0] for p in env.problems] == [
        "CERTSYNC_KEEP_RUNS",
        "CERTSYNC_KEEP_FAILED_DAYS",
    ]


def test_run_info_from_a_listed_body():
    body = {
        "name": "certsync-abc",
        "job_name": JOB,
        "status": "failed",
        "created_at": "2026-11-27T10:00:00Z",
    }
    info = RunInfo.from_body(body)
    assert info == RunInfo(
        "certsync-abc", JOB, "failed", dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
    )
    assert RunInfo.from_body({"name": "x", "created_at": "yesterday"}).created_at is None


class Result:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get_result(self) -> dict[str, Any]:
        return self.body


class FakeJobRuns:
    """Code Engine's job-run list (paged) and delete, as plain data."""

    def __init__(self, runs: list[dict[str, Any]], page: int = 2) -> None:
        self.runs = runs
        self.page = page
        self.deleted: list[str] = []
        self.listed: list[dict[str, Any]] = []

    def list_job_runs(self, project_id: str, **kwargs: Any) -> Result:
        self.listed.append({"project_id": project_id, **kwargs})
        mine = [r for r in self.runs if r["job_name"] == kwargs["job_name"]]
        start = int(kwargs.get("start") or 0)
        body: dict[str, Any] = {"job_runs": mine[start : start + self.page]}
        if start + self.page < len(mine):
            body["next"] = {"start": str(start + self.page)}
        return Result(body)

    def delete_job_run(self, project_id: str, name: str, **kwargs: Any) -> Result:
        if name == "vanished":
            raise ApiException(404, message="job run not found")
        if name == "forbidden":
            raise ApiException(403, message="not allowed")
        self.deleted.append(name)
        return Result({})


def listed(name: str, hours_ago: int, job: str = JOB) -> dict[str, Any]:
    created = (NOW - dt.timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return {"name": name, "job_name": job, "status": "completed", "created_at": created}


def history(api: FakeJobRuns, recent: int = 1) -> RunHistory:
    return RunHistory(api, "p-1", JOB, Retention(recent=recent), policy=RetryPolicy(attempts=1))


def test_history_reads_every_page_and_deletes_what_the_policy_names():
    api = FakeJobRuns([listed(f"r{i}", i) for i in range(5)] + [listed("u", 9, job="user-job")])

    pruned = history(api).prune(NOW)

    assert api.deleted == ["r1", "r2", "r3", "r4"]
    assert pruned.deleted == ("r1", "r2", "r3", "r4")
    assert pruned.kept == 1
    assert {call["job_name"] for call in api.listed} == {JOB}
    assert [call.get("start") for call in api.listed] == [None, "2", "4"]


def test_history_treats_a_run_already_gone_as_deleted():
    api = FakeJobRuns([listed("r0", 0), listed("vanished", 5)])

    assert history(api).prune(NOW).deleted == ("vanished",)


def test_history_reports_a_refused_delete():
    api = FakeJobRuns([listed("r0", 0), listed("forbidden", 5)])

    with pytest.raises(PermanentError, match="delete job run 'forbidden'"):
        history(api).prune(NOW)
