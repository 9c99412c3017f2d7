"""Peak memory of every system on the large case, each in a fresh process (bench/memory.py).

Not a timing, so not a pytest-benchmark benchmark: the figures go to
bench/.memory.json for bench/report.py. With benchmarking enabled (``make bench``)
every system and dtype is measured, and fastbp once more with its kernels loaded
before the baseline (``--warm``). Plain ``pytest`` runs fastbp alone, in float32,
on a few minibatches (``--smoke``), as a smoke test: a fresh process whose later
epochs allocate (almost) nothing.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cases import DTYPES
from bench.peers import SYSTEMS, available
from bench.report_judge import EPOCH_ALLOC_MIB
from fastbp._files import replace_text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / ".memory.json"
# What a fastbp epoch may add to the resident memory it starts from (its kernels
# allocate nothing; a fit's set-up allocates a few row-index arrays): the report's
# target.
FASTBP_EPOCH_MIB = EPOCH_ALLOC_MIB

PARAMS = [(s, d, False) for s in SYSTEMS for d in DTYPES] + [("fastbp", d, True) for d in DTYPES]


@pytest.fixture(scope="module")
def results(benchmarking):
    found = []
    yield found
    if found and benchmarking:
        replace_text(OUT, json.dumps(found, indent=1))


def run(system, dtype, warm, smoke):
    cmd = [sys.executable, "-m", "bench.memory", system, dtype]
    cmd += (["--warm"] if warm else []) + (["--smoke"] if smoke else [])
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "system, dtype, warm",
    [pytest.param(*p, id=f"{p[0]}-{p[1]}" + ("-warm" if p[2] else "")) for p in PARAMS],
)
def test_peak_memory(benchmarking, results, system, dtype, warm):
    if not benchmarking and (system, dtype, warm) != ("fastbp", "float32", False):
        pytest.skip("make bench measures every system; the smoke run measures fastbp only")
    if not available(system):
        pytest.skip(f"{system} is not installed")
    m = run(system, dtype, warm, smoke=not benchmarking)
    results.append(m)
    assert m["setup_mib"] > m["data_mib"]  # the data is resident in the baseline
    if system == "fastbp":
        if "later_peak_mib" not in m:
            pytest.skip("the peak could not be reset (/proc/self/clear_refs): no epoch's own peak")
        assert m["later_peak_mib"] - m["before_later_mib"] < FASTBP_EPOCH_MIB
