"""Shared test configuration."""

import os

from hypothesis import settings

# Hypothesis profiles. "quick" (the default, used by `make test`) runs a bounded,
# derandomized set of examples so the suite stays fast (also as plain Python,
# with NUMBA_DISABLE_JIT) and deterministic; tests/test_properties.py runs each
# property once per loss/output pair, so 30 examples each make 210 per property.
# "fuzz" (`make fuzz`, or HYPOTHESIS_PROFILE=fuzz) runs many random ones.
settings.register_profile("quick", max_examples=30, deadline=None, derandomize=True)
settings.register_profile("fuzz", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
