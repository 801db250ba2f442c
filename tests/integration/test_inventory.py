"""`python -m deploy inventory` and `adopt` as a user runs them, against an account that grew by
hand: two projects in two regions, secrets certsync manages, and secrets uploaded by hand that
Secrets Manager holds (the same certificate, or a newer one), holds twice, or does not hold."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from localcloud import LocalCloud
from localcloud.code_engine.project_space import ProjectSpace
from localcloud.code_engine.router import STALE
from localcloud.pki import Chain, Profile, issue, make_chain, renew
from scripts.deploy_local import (
    admin_key,
    local_config,
    register_images,
    run_deploy,
    write_config,
)
from tests.support import assert_no_secret_material, seed_certificate, wait_until

pytestmark = pytest.mark.integration

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        register_images(c)
        c.event_notifications.timeout = 5.0
        c.event_notifications.backoff_min = c.event_notifications.backoff_max = 0.2
        yield c


def tls(chain: Chain) -> dict[str, str]:
    return {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem}


class Estate:
    """Home project (us-south): `tls-www` managed, its domain serving an older certificate;
    `tls-shop` by hand, expiring in days, the same certificate as Secrets Manager's 'shop-cert'.
    `sites-eu` (eu-de): `tls-eu` managed; `tls-api` by hand, expiring, with one newer certificate
    covering its domain; `tls-blog` by hand with two; `tls-old` by hand with none, its subject
    hostile."""

    def __init__(self, cloud: LocalCloud, tmp_path: Path) -> None:
        self.cloud = cloud
        self.apikey = admin_key(cloud)
        first = make_chain("www.example.com", days=60)
        self.ca = (first.root, first.intermediate)
        home = cloud.code_engine
        self.eu = home.add_project("sites-eu", region="eu-de")
        eu = home.project_space(self.eu)
        for space in (home, eu):
            space.domain_mappings.trust_root(first.root.cert)
            space.apps.seed("web")
        self.domains: dict[str, int] = {}
        # managed at home; its domain stays on the first certificate after a replace
        www = renew(first, days=80)
        www_id = seed_certificate(cloud, www, "www-cert")
        home.router.set_mode(STALE, domain="www.example.com")
        self.put(home, "tls-www", first, domain="www.example.com")
        home.secrets.put("tls-www", "tls", tls(www))
        self.www_old, self.www = first, www
        # by hand at home, 5 days left: the same certificate is in Secrets Manager
        shop = self.chain("shop.example.com", days=5)
        self.shop_id = seed_certificate(cloud, shop, "shop-cert")
        self.put(home, "tls-shop", shop, domain="shop.example.com")
        # managed in eu-de
        eu_chain = self.chain("eu.example.com", days=70)
        eu_id = seed_certificate(cloud, eu_chain, "eu-cert")
        self.put(eu, "tls-eu", eu_chain, domain="eu.example.com")
        # by hand in eu-de, 10 days left, one newer certificate covers its domain
        api = self.chain("api.example.com", days=10)
        self.put(eu, "tls-api", api, domain="api.example.com")
        self.api_id = seed_certificate(cloud, renew(api, days=90), "api-cert")
        # by hand in eu-de, two newer certificates cover it: ambiguous
        blog = self.chain("blog.example.com", days=40)
        self.put(eu, "tls-blog", blog, domain="blog.example.com")
        for name in ("blog-a", "blog-b"):
            seed_certificate(cloud, renew(blog, days=90), name)
        # by hand in eu-de, nothing in Secrets Manager; a subject that is markup
        leaf = issue(
            HOSTILE, issuer=self.ca[1], sans=("old.example.com",), profile=Profile(days=200)
        )
        self.put(eu, "tls-old", Chain(self.ca[0], self.ca[1], leaf))
        self.anchors = tmp_path / "root.pem"
        self.anchors.write_text(first.root_pem)
        self.mappings: list[dict[str, Any]] = [
            {"secret": www_id, "target": "tls-www"},
            {"secret": eu_id, "target": "tls-eu", "project": self.eu, "region": "eu-de"},
        ]
        self.config = local_config(cloud, self.mappings)
        self.config["code_engine"]["urls"] = {"eu-de": cloud.code_engine_url_for("eu-de")}
        self.config["env"]["job"] |= {"CERTSYNC_TRUST_ANCHORS_FILE": str(self.anchors)}
        self.path = write_config(tmp_path / "certsync.yaml", self.config)

    def chain(self, domain: str, *, days: int) -> Chain:
        return make_chain(domain, days=days, ca=self.ca)

    def put(self, space: ProjectSpace, name: str, chain: Chain, domain: str = "") -> None:
        space.secrets.put(name, "tls", tls(chain))
        if domain:
            component = {"name": "web", "resource_type": "app_v2"}
            space.domain_mappings.create({"name": domain, "component": component,
                                          "tls_secret": name})  # fmt: skip
            self.domains[domain] = space.router.port
            assert wait_until(lambda: space.domain_mappings.get(domain)["status"] == "ready")

    def deploy(self, verb: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        connect_to = ",".join(f"{d}:443:127.0.0.1:{p}" for d, p in self.domains.items())
        extra = {"CERTSYNC_CONNECT_TO": connect_to, **env}
        done = run_deploy(verb, self.path, self.apikey, *args, env=extra)
        assert_no_secret_material(done.stdout + done.stderr, self.apikey)
        return done


@pytest.fixture
def estate(cloud: LocalCloud, tmp_path: Path) -> Estate:
    return Estate(cloud, tmp_path)


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in document["secrets"]}


def test_inventory_json_finds_every_secret_and_its_candidates(estate: Estate) -> None:
    done = estate.deploy("inventory", "--json")
    assert done.returncode == 1, done.stderr  # tls-shop and tls-api expire, nothing renews them
    document = json.loads(done.stdout)
    found = by_name(document)
    assert set(found) == {"tls-www", "tls-shop", "tls-eu", "tls-api", "tls-blog", "tls-old"}
    assert document["summary"] == {
        "projects": 2, "secrets": 6, "managed": 2, "unmanaged": 4, "at_risk": 2,
    }  # fmt: skip
    assert [s["name"] for s in document["secrets"][:2]] == ["tls-shop", "tls-api"]  # worst first
    www, shop = found["tls-www"], found["tls-shop"]
    assert www["managed"]
    assert not shop["managed"]
    assert (www["region"], www["project"]) == ("us-south", estate.cloud.identity.project_id)
    assert (found["tls-old"]["region"], found["tls-old"]["project"]) == ("eu-de", estate.eu)
    assert shop["sans"] == ["shop.example.com"]
    assert shop["subject"] == "CN=shop.example.com"
    assert shop["days_left"] == 4
    assert shop["key_matches"]
    assert shop["chain_complete"]
    assert shop["candidates"] == [
        {"secret_id": estate.shop_id, "name": "shop-cert", "rule": "same_certificate"}
    ]
    assert [c["rule"] for c in found["tls-api"]["candidates"]] == ["newer_covering"]
    assert found["tls-api"]["candidates"][0]["secret_id"] == estate.api_id
    assert sorted(c["name"] for c in found["tls-blog"]["candidates"]) == ["blog-a", "blog-b"]
    assert found["tls-old"]["candidates"] == []
    assert www["candidates"] == []  # managed: nothing to propose
    # the domain that serves something other than its secret is flagged, with what it serves
    (domain,) = www["domains"]
    assert domain["domain"] == "www.example.com"
    assert not domain["serves_secret"]
    assert domain["served_serial"] == estate.www_old.serial_hex
    assert shop["domains"][0]["serves_secret"] is True


def test_inventory_text_is_worst_first_and_ends_with_the_summary(estate: Estate) -> None:
    done = estate.deploy("inventory")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert lines[-1] == (
        "6 TLS secrets in 2 projects: 2 managed, 4 unmanaged, "
        "2 expire within 9 days and nothing renews them"
    )
    rows = [line for line in lines if "managed" in line.split()[2:3] or "UNMANAGED" in line]
    assert [r.split()[5] for r in rows][:2] == ["tls-shop", "tls-api"]
    assert "UNMANAGED" in rows[0]
    assert any("! domain www.example.com" in line for line in lines)
    assert any("shop-cert" in line and "same_certificate" in line for line in lines)


def test_the_exit_status_is_0_when_nothing_served_expires_unrenewed(estate: Estate) -> None:
    done = estate.deploy("inventory", CERTSYNC_EXPIRY_WARN_DAYS="3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1] == (
        "6 TLS secrets in 2 projects: 2 managed, 4 unmanaged"
    )
    only_eu = estate.deploy("inventory", "--regions", "eu-de", "--json")
    assert json.loads(only_eu.stdout)["summary"]["projects"] == 1


class Page(HTMLParser):
    """What a browser would load and show: the rows' cells, and every outside reference."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.outside: list[str] = []
        self.scripts = 0
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if name in {"src", "href", "action"} or "url(" in str(value):
                self.outside.append(f"{tag} {name}={value}")
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self.rows and self._in_body:
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False

    def handle_data(self, data: str) -> None:
        if self._in_body and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def test_the_html_page_is_self_contained_and_escapes_what_it_shows(
    estate: Estate, tmp_path: Path
) -> None:
    page = tmp_path / "inventory.html"
    done = estate.deploy("inventory", "--html", str(page))
    assert done.returncode == 1, done.stderr
    html = page.read_text()
    parsed = Page()
    parsed.feed(html)
    assert parsed.scripts == 0
    assert parsed.outside == []
    assert "url(" not in html
    assert "@import" not in html
    names = [row[5] for row in parsed.rows]
    assert sorted(names) == ["tls-api", "tls-blog", "tls-eu", "tls-old", "tls-shop", "tls-www"]
    old = next(row for row in parsed.rows if row[5] == "tls-old")
    assert old[6] == f"CN={HOSTILE}"  # shown as text: the parser saw no <script> element
    assert HOSTILE not in html


def test_adopt_proposes_the_unambiguous_and_names_the_rest(estate: Estate) -> None:
    done = estate.deploy("adopt", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["written"] is False
    home = estate.cloud.identity.project_id
    assert sorted(answer["mappings"], key=lambda m: m["target"]) == [
        {"secret": estate.api_id, "target": "tls-api", "project": estate.eu, "region": "eu-de"},
        {"secret": estate.shop_id, "target": "tls-shop", "project": home, "region": "us-south"},
    ]
    reasons = {u["name"]: u["reason"] for u in answer["unmatched"]}
    assert reasons == {"tls-blog": "several candidates", "tls-old": "no candidate"}
    text = estate.deploy("adopt")
    assert "target: tls-shop" in text.stdout
    assert "tls-blog (eu-de/sites-eu): several" in text.stdout
    assert "run again with --write" in text.stdout


def test_adopt_write_keeps_the_comments_and_plan_shows_only_the_config_map(
    estate: Estate,
) -> None:
    applied = estate.deploy("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    original = estate.path.read_text()
    estate.path.write_text("# certsync for the shop (edited by hand)\n" + original.replace(
        "delivery: webhook", "delivery: webhook  # the trigger app"))  # fmt: skip
    done = estate.deploy("adopt", "--write")
    assert done.returncode == 0, done.stderr
    assert "Added 2 mapping(s)" in done.stdout
    assert "python -m deploy plan" in done.stdout
    written = estate.path.read_text()
    assert written.startswith("# certsync for the shop (edited by hand)\n")
    assert "delivery: webhook  # the trigger app" in written
    assert written.index("name: certsync") < written.index("mappings:") < written.index("delivery")
    plan = estate.deploy("plan", "--json")
    assert plan.returncode == 0, plan.stderr
    changes = [c for c in json.loads(plan.stdout)["changes"] if c["action"] != "keep"]
    assert [(c["kind"], c["name"]) for c in changes] == [
        ("Code Engine config map", "certsync-mappings")
    ]
    again = estate.deploy("adopt", "--json")
    assert json.loads(again.stdout)["mappings"] == []  # both are managed now
