"""The job's settings for custom-domain verification (CERTSYNC_VERIFY and friends)."""

import json

import pytest

from job.settings import Settings
from job.variables import ConnectTo
from localcloud.pki import make_chain
from shared.errors import ConfigError

ENV = {
    "CE_PROJECT_ID": "p-1",
    "CE_API_BASE_URL": "https://api.us-south.codeengine.cloud.ibm.com",
    "SECRETS_MANAGER_URL": "https://inst.us-south.secrets-manager.appdomain.cloud",
    "SECRETS_MANAGER_AUTH_TYPE": "container",
    "SECRETS_MANAGER_IAM_PROFILE_NAME": "certsync",
    "CODE_ENGINE_AUTH_TYPE": "container",
    "CODE_ENGINE_IAM_PROFILE_NAME": "certsync",
    "CERTSYNC_MAPPINGS": json.dumps([{"secret": "0b5571f7-21e6", "target": "tls-a"}]),
}


def test_verification_is_on_by_default_with_minutes_to_propagate():
    settings = Settings.from_env(ENV)
    assert settings.verify is True
    assert settings.verify_timeout == 600.0
    assert (settings.trust_anchors, settings.connect_to) == ((), ())


@pytest.mark.parametrize(("value", "verify"), [("off", False), ("on", True), ("false", False)])
def test_verification_can_be_switched(value, verify):
    assert Settings.from_env({**ENV, "CERTSYNC_VERIFY": value}).verify is verify


def test_trust_anchors_and_connect_to_are_read(tmp_path):
    root = make_chain().root
    anchors = tmp_path / "roots.pem"
    anchors.write_text(root.cert_pem)
    settings = Settings.from_env(
        {
            **ENV,
            "CERTSYNC_TRUST_ANCHORS_FILE": str(anchors),
            "CERTSYNC_CONNECT_TO": "www.example.com:443:127.0.0.1:8443",
            "CERTSYNC_VERIFY_TIMEOUT": "30",
        }
    )
    assert settings.trust_anchors == (root.cert,)
    assert settings.connect_to == (ConnectTo("www.example.com", 443, "127.0.0.1", 8443),)
    assert settings.verify_timeout == 30.0


def test_every_verification_problem_is_named_at_once(tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ConfigError) as info:
        Settings.from_env(
            {
                **ENV,
                "CERTSYNC_VERIFY": "maybe",
                "CERTSYNC_VERIFY_TIMEOUT": "soon",
                "CERTSYNC_TRUST_ANCHORS_FILE": str(garbage),
                "CERTSYNC_CONNECT_TO": "www.example.com:443",
            }
        )
    named = [p.split(" ")[0].rstrip(":") for p in info.value.problems]
    assert named == [
        "CERTSYNC_VERIFY",
        "CERTSYNC_VERIFY_TIMEOUT",
        "CERTSYNC_TRUST_ANCHORS_FILE",
        "CERTSYNC_CONNECT_TO",
    ]


def test_a_mapping_may_opt_out_of_verification():
    mappings = [{"secret": "0b5571f7-21e6", "target": "tls-a", "verify": False}]
    settings = Settings.from_env({**ENV, "CERTSYNC_MAPPINGS": json.dumps(mappings)})
    assert settings.mappings[0].verify is False
    bad = [{"secret": "0b5571f7-21e6", "target": "tls-a", "verify": "no"}]
    with pytest.raises(ConfigError, match="'verify' 'no' must be true or false"):
        Settings.from_env({**ENV, "CERTSYNC_MAPPINGS": json.dumps(bad)})


def test_alerts_are_off_unless_configured_and_a_partial_setup_is_named():
    assert Settings.from_env(ENV).alerts is None
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**ENV, "EVENT_NOTIFICATIONS_URL": "https://us-south.en.example"})
    named = sorted(p.split(" ")[0] for p in info.value.problems)
    assert named == [
        "CERTSYNC_EN_INSTANCE_ID",
        "CERTSYNC_EN_SOURCE_ID",
        "EVENT_NOTIFICATIONS_AUTH_TYPE",
    ]


def test_complete_alert_settings_and_the_expiry_threshold():
    settings = Settings.from_env(
        {
            **ENV,
            "EVENT_NOTIFICATIONS_URL": "https://us-south.event-notifications.cloud.ibm.com/",
            "EVENT_NOTIFICATIONS_AUTH_TYPE": "container",
            "EVENT_NOTIFICATIONS_IAM_PROFILE_NAME": "certsync",
            "CERTSYNC_EN_INSTANCE_ID": "en-1",
            "CERTSYNC_EN_SOURCE_ID": "src:api",
            "CERTSYNC_EXPIRY_WARN_DAYS": "30",
            "CERTSYNC_STATUS_CONFIGMAP": "certsync-state",
        }
    )
    assert settings.alerts is not None
    assert settings.alerts.url == "https://us-south.event-notifications.cloud.ibm.com"
    assert (settings.alerts.instance_id, settings.alerts.source_id) == ("en-1", "src:api")
    assert settings.expiry_warn_days == 30
    assert settings.status_configmap == "certsync-state"
