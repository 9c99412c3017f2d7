"""Seconds per epoch in steady state: every system on every case, in both dtypes.

One benchmark per (case, dtype, system), grouped by case and dtype so that
pytest-benchmark's table compares the systems side by side; how each is timed
(and, under plain ``pytest``, smoke-tested): bench/timing.py.
"""

import pytest

from bench.cases import CASES, DTYPES
from bench.peers import TIMED, available
from bench.timing import time_epochs

PARAMS = [
    pytest.param(case, dtype, system, id=f"{case}-{dtype}-{system}")
    for case in CASES
    for dtype in DTYPES
    for system in TIMED  # a group's systems run one after the other, close in time
]


@pytest.mark.parametrize("case_name, dtype, system", PARAMS)
def test_epoch(benchmark, case_name, dtype, system):
    if not available(system):
        pytest.skip(f"{system} is not installed")
    benchmark.group = f"{case_name}-{dtype}"
    time_epochs(benchmark, system, case_name, dtype)
