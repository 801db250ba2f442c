"""Access enforcement for the middleware: a request that needs a service role (`access.py`) and
carries a token of an Identity API trusted profile without a policy granting one is answered 403,
in the shape of the service that owns the path:
- Secrets Manager and Code Engine: the platform envelope (`http.error_response`), code
  `forbidden` (their real 403 codes are not published);
- Event Notifications: its envelope with `more_info` (`event_notifications.send.EnError`), code
  `authorization_error`, the one code its docs show for a 403
  (`en-iam-assign-topic-subscription.md`).
API-key identities and seeded profiles pass (`Iam.allows`). Real IAM answers in the service's own
words; the message here names the caller's IAM id, the service, the instance and the roles that
would do, and no token.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from localcloud.event_notifications.send import EnError
from localcloud.http import error_response
from localcloud.iam import access
from localcloud.iam.service import Iam

# (method, path, Authorization header) -> a 403 to answer, or None to go on.
Authorize = Callable[[str, str, str | None], Response | None]


def authorizer(iam: Iam) -> Authorize:
    def authorize(method: str, path: str, authorization: str | None) -> Response | None:
        need = access.requirement(method, path, iam.identity.sm_instance_id)
        if need is None:
            return None
        caller = iam.caller(authorization)
        if caller is None or iam.allows(caller, need.service, need.instance, need.roles):
            return None
        return forbidden(need, caller)

    return authorize


def forbidden(need: access.Requirement, caller: str) -> Response:
    where = f"instance '{need.instance}'" if need.instance else "any instance"
    message = (
        f"Forbidden: '{caller}' has no access policy on {need.service} {where} granting one of "
        f"the roles {', '.join(sorted(need.roles))}"
    )
    if need.service == access.EN:
        return EnError(message, status=403, code="authorization_error").response()
    return error_response(403, "forbidden", message)
