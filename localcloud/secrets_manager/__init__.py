"""Secrets Manager v2: secret groups, certificates and arbitrary secrets, versions, rotation."""

from localcloud.secrets_manager.routes import routes
from localcloud.secrets_manager.service import SecretsManager

__all__ = ["SecretsManager", "routes"]
