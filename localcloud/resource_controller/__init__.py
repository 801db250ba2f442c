"""Resource Controller: the account's service instances, looked up by GUID or CRN (read-only)."""

from localcloud.resource_controller.routes import routes
from localcloud.resource_controller.service import ResourceController

__all__ = ["ResourceController", "routes"]
