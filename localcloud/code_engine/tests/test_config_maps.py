"""Code Engine v2 config maps through the unmodified SDK: ETags, If-Match, the 1 MiB size limit,
the project quota, paging, and job runs that read them."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cryptography import x509
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    ConfigMap,
    ConfigMapList,
    ConfigMapsPager,
    EnvVarPrototype,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    ENV_IMAGE,
    VERSION,
    api_error,
    env_lines,
    error_code,
)

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SYSTEM = ["istio-ca-root-cert", "kube-root-ca.crt"]  # what Code Engine puts in every project


def test_config_map_lifecycle_with_etags(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    created = ce.create_config_map(project_id=pid, name="certsync-status", data={"a": "1"})
    assert created.get_status_code() == 201
    first = ConfigMap.from_dict(created.get_result())
    assert created.get_headers()["ETag"] == first.entity_tag
    assert (first.name, first.data) == ("certsync-status", {"a": "1"})
    assert first.resource_type == "config_map_v2"
    assert (first.project_id, first.region) == (pid, cloud.identity.region)
    assert first.href == f"{cloud.code_engine_url}/projects/{pid}/config_maps/certsync-status"
    got = ce.get_config_map(project_id=pid, name="certsync-status")
    assert got.get_status_code() == 200
    assert got.get_headers()["ETag"] == ConfigMap.from_dict(got.get_result()).entity_tag
    duplicate = api_error(ce.create_config_map, project_id=pid, name="certsync-status")
    assert (duplicate.status_code, error_code(duplicate)) == (409, "already_exists")

    replaced = ce.replace_config_map(
        project_id=pid, name="certsync-status", if_match=first.entity_tag, data={"b": "2"}
    )
    assert replaced.get_status_code() == 200
    second = ConfigMap.from_dict(replaced.get_result())
    assert replaced.get_headers()["ETag"] == second.entity_tag != first.entity_tag
    assert second.data == {"b": "2"}  # PUT: the whole data, not a merge
    assert (second.id, second.created_at) == (first.id, first.created_at)

    stale = api_error(
        ce.replace_config_map, project_id=pid, name="certsync-status",
        if_match=first.entity_tag, data={"c": "3"},
    )  # fmt: skip
    assert (stale.status_code, error_code(stale)) == (412, "precondition_failed")
    star = ce.replace_config_map(project_id=pid, name="certsync-status", if_match="*", data={})
    third = ConfigMap.from_dict(star.get_result())
    assert third.entity_tag not in (first.entity_tag, second.entity_tag)
    assert third.data is None  # an empty config map shows no `data`, as Kubernetes omits it

    assert ce.delete_config_map(project_id=pid, name="certsync-status").get_status_code() == 202
    for call in (ce.get_config_map, ce.delete_config_map):
        assert api_error(call, project_id=pid, name="certsync-status").status_code == 404
    missing = api_error(ce.replace_config_map, project_id=pid, name="certsync-status", if_match="*")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")


def test_replace_without_if_match_is_400(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    ce.create_config_map(project_id=pid, name="cm", data={"k": "v"})
    authenticator = ce.authenticator
    assert isinstance(authenticator, IAMAuthenticator)
    response = requests.put(
        f"{cloud.code_engine_url}/projects/{pid}/config_maps/cm",
        params={"version": VERSION},
        json={"data": {"k": "w"}},
        headers={"Authorization": f"Bearer {authenticator.token_manager.get_token()}"},
        timeout=10,
    )
    assert (response.status_code, response.json()["errors"][0]["code"]) == (400, "missing_if_match")
    assert ce.get_config_map(project_id=pid, name="cm").get_result()["data"] == {"k": "v"}


def test_read_merge_replace_retries_after_412(ce: CodeEngineV2, pid: str) -> None:
    """What certsync's status record does: two writers read one version; the second one's
    replace is refused with 412 and succeeds after it reads again and merges."""
    ce.create_config_map(project_id=pid, name="certsync-status", data={})
    reads = [ce.get_config_map(project_id=pid, name="certsync-status") for _ in range(2)]
    tags = [read.get_headers()["ETag"] for read in reads]
    ce.replace_config_map(
        project_id=pid, name="certsync-status", if_match=tags[0], data={"web": "ok"}
    )
    lost = api_error(
        ce.replace_config_map, project_id=pid, name="certsync-status",
        if_match=tags[1], data={"api": "ok"},
    )  # fmt: skip
    assert lost.status_code == 412
    again = ConfigMap.from_dict(
        ce.get_config_map(project_id=pid, name="certsync-status").get_result()
    )
    merged = {**(again.data or {}), "api": "ok"}
    ce.replace_config_map(
        project_id=pid, name="certsync-status", if_match=again.entity_tag, data=merged
    )
    final = ce.get_config_map(project_id=pid, name="certsync-status").get_result()
    assert final["data"] == {"web": "ok", "api": "ok"}


@pytest.mark.parametrize(
    "name", ["Upper", "-lead", "trail-", "under_score", "a" * 254, "", "a..b", "line\n"]
)
def test_invalid_config_map_names(ce: CodeEngineV2, pid: str, name: str) -> None:
    assert api_error(ce.create_config_map, project_id=pid, name=name).status_code == 400


def test_longest_dotted_config_map_name_is_accepted(ce: CodeEngineV2, pid: str) -> None:
    name = ".".join(["a" * 63] * 4)[:253]
    assert ce.create_config_map(project_id=pid, name=name).get_status_code() == 201


@pytest.mark.parametrize(
    "data",
    [
        {"a b": "v"},
        {"": "v"},
        {".": "v"},
        {"..": "v"},
        {"..hidden": "v"},
        {"k\n": "v"},
        {"k" * 254: "v"},
        {"k": 1},
        {"k": None},
        {"k": "\ud800"},
        ["k", "v"],
        "k=v",
    ],
)
def test_invalid_data_is_400(ce: CodeEngineV2, pid: str, data: Any) -> None:
    error = api_error(ce.create_config_map, project_id=pid, name="cm", data=data)
    assert (error.status_code, error_code(error)) == (400, "invalid_input")


def test_valid_keys_as_kubernetes_allows_them(ce: CodeEngineV2, pid: str) -> None:
    data = {"k" * 253: "", ".env": "x", "a..b": "y", "A-Z_0.9": "z", "k": "line 1\nline 2 ü"}
    created = ce.create_config_map(project_id=pid, name="keys", data=data).get_result()
    assert ConfigMap.from_dict(created).data == data


@pytest.mark.parametrize(
    ("data", "size"),
    [
        ({"k": "x" * (MIB - 1)}, MIB),  # one byte of key, the rest value: exactly 1 MiB
        ({"a": "x" * (MIB // 2 - 1), "b": "y" * (MIB // 2 - 1)}, MIB),
        ({"k": "x" * MIB}, MIB + 1),  # the value alone is 1 MiB: the key makes it too large
        ({"kk": "x" * (MIB - 1)}, MIB + 1),
        ({"k": "é" * (MIB // 2)}, MIB + 1),  # UTF-8 bytes count, not characters
    ],
)
def test_a_config_map_holds_at_most_1_mib(
    ce: CodeEngineV2, pid: str, data: dict[str, str], size: int
) -> None:
    if size <= MIB:
        created = ce.create_config_map(project_id=pid, name="big", data=data)
        assert created.get_status_code() == 201
        assert ConfigMap.from_dict(created.get_result()).data == data
        return
    error = api_error(ce.create_config_map, project_id=pid, name="big", data=data)
    assert (error.status_code, error_code(error)) == (400, "request_too_large")
    assert error.message == (
        f"Config map 'big' holds {size} bytes of data; the maximum size of a config map is "
        "1 MiB (1048576 bytes), keys and values together"
    )
    assert api_error(ce.get_config_map, project_id=pid, name="big").status_code == 404


def test_a_replace_over_1_mib_changes_nothing(ce: CodeEngineV2, pid: str) -> None:
    tag = ce.create_config_map(project_id=pid, name="cm", data={"k": "v"}).get_headers()["ETag"]
    error = api_error(
        ce.replace_config_map, project_id=pid, name="cm", if_match=tag, data={"k": "x" * MIB}
    )
    assert (error.status_code, error_code(error)) == (400, "request_too_large")
    assert f"{MIB + 1} bytes" in error.message
    kept = ce.get_config_map(project_id=pid, name="cm")
    assert (kept.get_headers()["ETag"], kept.get_result()["data"]) == (tag, {"k": "v"})
    fits = ce.replace_config_map(
        project_id=pid, name="cm", if_match=tag, data={"k": "x" * (MIB - 1)}
    )
    assert fits.get_status_code() == 200


def test_the_project_holds_100_config_maps_the_2_of_code_engine_included(
    ce: CodeEngineV2, pid: str
) -> None:
    for i in range(98):
        ce.create_config_map(project_id=pid, name=f"cm-{i:03}", data={"i": str(i)})
    full = api_error(ce.create_config_map, project_id=pid, name="cm-098")
    assert (full.status_code, error_code(full)) == (403, "exceeded_quota")
    assert full.message == (
        "config map quota exceeded: the project holds 100 config maps (limit 100), including the "
        "2 that Code Engine creates; delete one before you create another"
    )
    # Admitted before the name is stored, as in Kubernetes: 403, not 409.
    assert api_error(ce.create_config_map, project_id=pid, name="cm-000").status_code == 403
    # Code Engine re-creates its own: deleting one frees nothing.
    ce.delete_config_map(project_id=pid, name=SYSTEM[0])
    assert api_error(ce.create_config_map, project_id=pid, name="cm-098").status_code == 403
    ce.delete_config_map(project_id=pid, name="cm-000")
    assert ce.create_config_map(project_id=pid, name="cm-098").get_status_code() == 201


def test_code_engine_creates_and_recreates_its_own_config_maps(ce: CodeEngineV2, pid: str) -> None:
    listed = ConfigMapList.from_dict(ce.list_config_maps(project_id=pid).get_result())
    assert [m.name for m in listed.config_maps] == SYSTEM
    before = {m.name: m for m in listed.config_maps}
    for name, key in zip(SYSTEM, ["root-cert.pem", "ca.crt"], strict=True):
        assert list(before[name].data) == [key]
        cert = x509.load_pem_x509_certificate(before[name].data[key].encode())
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ce.delete_config_map(project_id=pid, name=SYSTEM[1]).get_status_code() == 202
    back = ConfigMap.from_dict(ce.get_config_map(project_id=pid, name=SYSTEM[1]).get_result())
    assert back.data == before[SYSTEM[1]].data
    assert back.id != before[SYSTEM[1]].id
    assert back.entity_tag != before[SYSTEM[1]].entity_tag


def test_list_pages_through_sdk_models(ce: CodeEngineV2, pid: str) -> None:
    names = [f"cm-{i}" for i in range(5)]
    for name in names:
        ce.create_config_map(project_id=pid, name=name, data={"name": name})
    pages: list[ConfigMapList] = []
    start: str | None = None
    while not pages or pages[-1].next is not None:
        result = ce.list_config_maps(project_id=pid, limit=3, start=start).get_result()
        pages.append(ConfigMapList.from_dict(result))
        start = result.get("next", {}).get("start")
    assert [len(p.config_maps) for p in pages] == [3, 3, 1]
    everything = sorted([*names, *SYSTEM])
    seen = {m.name: m.data for p in pages for m in p.config_maps}
    assert list(seen) == everything
    assert all(seen[name] == {"name": name} for name in names)  # lists show `data`
    assert "limit=3" in pages[0].first.href
    pager = ConfigMapsPager(client=ce, project_id=pid, limit=2)
    assert [m["name"] for m in pager.get_all()] == everything
    whole = ConfigMapList.from_dict(ce.list_config_maps(project_id=pid).get_result())
    assert (whole.limit, whole.next, len(whole.config_maps)) == (50, None, 7)
    for bad in ({"limit": 0}, {"limit": 101}, {"start": "garbage!"}):
        assert api_error(ce.list_config_maps, project_id=pid, **bad).status_code == 400


def test_job_runs_read_config_map_references(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    ce.create_config_map(
        project_id=pid, name="certsync-mappings", data={"MAPPINGS": "web-cert=tls-web", "N": "1"}
    )
    ce.create_job(
        project_id=pid,
        image_reference=ENV_IMAGE,
        name="sync",
        run_env_variables=[
            EnvVarPrototype(type="config_map_full_reference", reference="certsync-mappings"),
            EnvVarPrototype(
                type="config_map_key_reference",
                name="PICKED",
                reference="certsync-mappings",
                key="N",
            ),
            EnvVarPrototype(
                type="config_map_full_reference", reference="certsync-mappings", prefix="CM_"
            ),
        ],
    )
    first = ce.create_job_run(project_id=pid, job_name="sync").get_result()["name"]
    assert cloud.code_engine.job_runs.wait(first)["status"] == "completed"
    (env,) = env_lines(cloud, first)
    assert (env["MAPPINGS"], env["N"], env["PICKED"]) == ("web-cert=tls-web", "1", "1")
    assert (env["CM_MAPPINGS"], env["CM_N"]) == ("web-cert=tls-web", "1")

    # A run reads the config map as it is when the run is submitted.
    ce.replace_config_map(project_id=pid, name="certsync-mappings", if_match="*", data={"N": "2"})
    second = ce.create_job_run(project_id=pid, job_name="sync").get_result()["name"]
    assert cloud.code_engine.job_runs.wait(second)["status"] == "completed"
    (env,) = env_lines(cloud, second)
    assert (env["N"], env["PICKED"], "MAPPINGS" in env) == ("2", "2", False)


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ({"type": "config_map_full_reference", "reference": "absent"},
         "config map 'absent' not found"),
        ({"type": "config_map_key_reference", "name": "X", "reference": "absent", "key": "k"},
         "config map 'absent' not found"),
        ({"type": "config_map_key_reference", "name": "X", "reference": "cfg", "key": "nope"},
         "key 'nope' not found in config map 'cfg'"),
    ],
)  # fmt: skip
def test_an_unresolvable_config_map_reference_fails_the_run(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, ref: dict[str, str], why: str
) -> None:
    cloud.code_engine.config_maps.create({"name": "cfg", "data": {"k": "v"}})  # in-process API
    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="sync")
    run = ce.create_job_run(project_id=pid, job_name="sync", run_env_variables=[ref])
    name = run.get_result()["name"]
    final = cloud.code_engine.job_runs.wait(name)
    assert final["status"] == "failed"
    reason = final["status_details"]["indices_details"]["0"]["last_failure_reason"]
    assert reason == "CreateContainerConfigError"
    assert why in cloud.code_engine.job_runs.logs(name)
