"""A local, stateful emulator of the IBM Cloud APIs certsync uses, served over real HTTP."""

from tests.fakecloud.cloud import FakeCloud, Identity
from tests.fakecloud.faults import Fault

__all__ = ["FakeCloud", "Fault", "Identity"]
