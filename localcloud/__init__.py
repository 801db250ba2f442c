"""A local, stateful emulator of the IBM Cloud APIs certsync uses, served over real HTTP.

Every service is one package, `localcloud/<service>/`, laid out the same way:
- `service.py`: the object `LocalCloud` builds, holding the service's state. A collection of
  resources is a class in a module of its own, an attribute of the service named after the API's
  path segment (Code Engine's live on each project: `code_engine/scope.py` says how to add one).
- `routes.py`: `routes(service)`, everything the service serves; the handlers of its main API
  are there, another API of the same host is in `<api>_routes.py` (IAM `identity_routes`,
  `policy_routes`; Secrets Manager `notifications_routes`; Event Notifications `admin_routes`),
  and the emulator's own control plane under `/_localcloud/<service>/` in `control_routes.py`.
- One control-plane style: tests and the demo set a service up in-process with a method of the
  service or of its collection (`cloud.iam.add_apikey`, `cloud.secrets_manager.seed_certificate`,
  `cloud.code_engine.secrets.put`, `cloud.event_notifications.add_webhook_destination`); a
  `control_routes.py` route calls exactly one such method, for a client outside the process.
- `tests/`: its contract tests, through the unmodified SDK.
Services see the account and IAM only through `account.py` (`Identity`, `Site`, `TokenIssuer`),
which imports none of them; `cloud.py` wires the calls between services.
"""

from localcloud.account import Identity
from localcloud.cloud import LocalCloud
from localcloud.faults import Fault

__all__ = ["Fault", "Identity", "LocalCloud"]
