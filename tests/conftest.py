"""Hypothesis profiles: `make test` runs the property tests briefly (50 examples, about a second
for all of them); `make test-deep` (and CI) run them at full strength, selected with
HYPOTHESIS_PROFILE=deep."""

import os

from hypothesis import settings

settings.register_profile("default", max_examples=50)
settings.register_profile("deep", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
