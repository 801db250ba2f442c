"""IAM: API keys and trusted profiles in, bearer tokens out; every other service checks them.
Trusted profiles, their compute-resource links and access/authorization policies are managed
through the IAM Identity and Policy Management APIs; `authorizer` enforces the policies."""

from localcloud.iam.enforce import Authorize, authorizer
from localcloud.iam.routes import routes
from localcloud.iam.service import Iam

__all__ = ["Authorize", "Iam", "authorizer", "routes"]
