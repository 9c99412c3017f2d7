"""The scikit-learn releases fastbp's parity was verified against, and a warning, once
per process, on a newer one.

fastbp has no upper bound on any dependency (pyproject.toml): a new release installs
and fastbp works with it; only its promise to give scikit-learn's numbers was
checked for the releases below. On a newer scikit-learn, the parity tests
(tests/test_parity.py) show what changed.
"""

import re
import warnings

# (major, minor) of the newest scikit-learn the parity tests passed with
VERIFIED_SKLEARN = (1, 9)


class ParityWarning(UserWarning):
    """scikit-learn is newer than the releases fastbp's parity was verified with."""


def release(version):
    """(major, minor) of a version string: "1.10.dev0" -> (1, 10)."""
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def check_sklearn(version):
    """Warn (ParityWarning) if scikit-learn ``version`` is newer than VERIFIED_SKLEARN."""
    if release(version) > VERIFIED_SKLEARN:
        verified = ".".join(map(str, VERIFIED_SKLEARN))
        warnings.warn(
            f"fastbp: parity with scikit-learn was verified up to scikit-learn {verified}; "
            f"this is scikit-learn {version}. fastbp works with it; where scikit-learn changed "
            "its MLP, fastbp's numbers may no longer match (fastbp's parity tests show what "
            "changed).",
            ParityWarning,
            stacklevel=3,
        )
