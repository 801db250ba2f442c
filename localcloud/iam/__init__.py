"""IAM: API keys and trusted profiles in, bearer tokens out; every other service checks them."""

from localcloud.iam.routes import routes
from localcloud.iam.service import Iam

__all__ = ["Iam", "routes"]
