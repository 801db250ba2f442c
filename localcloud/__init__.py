"""A local, stateful emulator of the IBM Cloud APIs certsync uses, served over real HTTP."""

from localcloud.account import Identity
from localcloud.cloud import LocalCloud
from localcloud.faults import Fault

__all__ = ["Fault", "Identity", "LocalCloud"]
