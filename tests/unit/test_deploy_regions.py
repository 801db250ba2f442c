"""deploy/regions.py: the documented region lists and each service's public endpoint there."""

from __future__ import annotations

from deploy import regions

GUID = "00000000-0000-4000-8000-000000000001"


def test_public_endpoints_follow_each_services_documented_pattern() -> None:
    assert regions.code_engine_url("eu-es") == "https://api.eu-es.codeengine.cloud.ibm.com/v2"
    assert regions.secrets_manager_url(GUID, "eu-de") == (
        f"https://{GUID}.eu-de.secrets-manager.appdomain.cloud"
    )
    assert regions.event_notifications_url("in-mum") == (
        "https://in-mum.event-notifications.cloud.ibm.com/event-notifications"
    )


def test_the_lists_differ_where_the_docs_do() -> None:
    # Montreal and Mumbai host Secrets Manager and Event Notifications, not Code Engine
    for region in ("ca-mon", "in-mum"):
        assert region not in regions.CODE_ENGINE
        assert region in regions.SECRETS_MANAGER
        assert region in regions.EVENT_NOTIFICATIONS
    assert len(set(regions.CODE_ENGINE)) == 11
    assert regions.named(("eu-de", "au-syd")) == "au-syd, eu-de"
