"""A local, stateful emulator of the IBM Cloud APIs certsync uses, served over real HTTP."""

from localcloud.cloud import Identity, LocalCloud
from localcloud.faults import Fault

__all__ = ["Fault", "Identity", "LocalCloud"]
