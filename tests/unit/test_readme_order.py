"""README.md in the order an operator needs it (issue 17, item 14): what certsync is and how to try
it on the first screen, prerequisites before install, then operate, troubleshooting, how it works
and the reference; performance and development notes in docs/, and each passage said once."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN = "\n".join(README.splitlines()[:25])
# The top-level sections in order, each by the start of its `## ` heading.
ORDER = (
    "Try it locally",
    "certsync or Terraform + cron?",
    "Prerequisites",
    "Install",
    "Operate",
    "Troubleshooting",
    "How it works",
    "Reference",
)
CRON_CREATE = "ibmcloud ce subscription cron create"


def sections() -> list[str]:
    return [line[3:].strip() for line in README.splitlines() if line.startswith("## ")]


def section(title: str) -> str:
    """The text of the top-level section whose heading starts with `title`."""
    parts = re.split(r"^## ", README, flags=re.MULTILINE)
    return next(part for part in parts if part.startswith(title))


def test_the_first_screen_says_what_certsync_is_and_shows_the_two_commands() -> None:
    assert FIRST_SCREEN.startswith("# certsync")
    assert "Code Engine" in FIRST_SCREEN
    assert "Secrets Manager" in FIRST_SCREEN
    assert "certsync is a Code Engine batch job" in FIRST_SCREEN
    assert re.search(r"^make demo\b", FIRST_SCREEN, flags=re.MULTILINE)
    assert re.search(r"^make test\b", FIRST_SCREEN, flags=re.MULTILINE)


def test_the_top_level_sections_come_in_the_operators_order() -> None:
    found = [next((i for i, s in enumerate(sections()) if s.startswith(t)), -1) for t in ORDER]
    assert -1 not in found, dict(zip(ORDER, found, strict=True))
    assert found == sorted(found), sections()
    assert len(sections()) == len(ORDER), sections()  # nothing else at the top level


def test_prerequisites_come_before_install() -> None:
    assert README.index("\n## Prerequisites") < README.index("\n## Install")


def test_prerequisites_spell_out_the_installing_keys_roles_per_service() -> None:
    text = section("Prerequisites")
    services = ("IAM Identity Service", "Secrets Manager", "Event Notifications", "Code Engine")
    for service in services:
        row = next((line for line in text.splitlines() if line.startswith(f"| {service}")), "")
        assert re.search(r"Administrator|Manager|Writer|Viewer", row), service
    for needed in ("registry secret", "Code Engine project", "IBMCLOUD_API_KEY"):
        assert needed in text


def test_operate_covers_alerts_upgrades_the_webhook_token_and_cost() -> None:
    text = section("Operate")
    for heading in ("alert", "Upgrading to a new image", "Rotating the webhook token", "Cost"):
        assert re.search(rf"^### .*{heading}", text, flags=re.MULTILINE), heading
    for alert in re.findall(r"com\.ibm\.certsync\.[a-z.]+", README):
        assert alert in text, f"{alert} is not explained under Operate"


def test_troubleshooting_follows_doctors_failures() -> None:
    text = section("Troubleshooting")
    for hop in ("rotated", "delivered", "run_started", "synced"):  # the canary's hops
        assert f"`{hop}`" in text
    for failure in ("registry secret", "/healthz", "HTTP 401", "expiration date", "dry-run"):
        assert failure in text


def test_performance_and_development_notes_live_in_docs_and_are_linked() -> None:
    for name in ("performance", "development"):
        path = ROOT / "docs" / f"{name}.md"
        assert path.is_file(), path
        assert f"](docs/{name}.md)" in README
    assert "\n## Performance" not in README
    assert "\n## Development" not in README


def test_what_was_said_twice_is_said_once() -> None:
    assert README.count(CRON_CREATE) == 1
    assert len(re.findall(r"limits a job run to 10 KiB", README)) == 1
    assert README.count("**Cold starts.**") == 1
