"""Peak memory of every system on the large case, each in a fresh process (bench/memory.py).

Not a timing, so not a pytest-benchmark benchmark: the figures go to
bench/.memory.json for bench/report.py. Runs only when benchmarking is enabled
(``make bench``); plain ``pytest`` skips it.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cases import DTYPES
from bench.peers import SYSTEMS, available

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / ".memory.json"


@pytest.fixture(scope="module")
def results():
    found = {}
    yield found
    if found:
        OUT.write_text(json.dumps(sorted(found.values(), key=lambda r: r["key"]), indent=1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("system", SYSTEMS)
def test_peak_memory(benchmarking, results, system, dtype):
    if not benchmarking:
        pytest.skip("peak memory is measured by make bench only")
    if not available(system):
        pytest.skip(f"{system} is not installed")
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", system, dtype],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["peak_first_mib"] >= figures["rss_setup_mib"] > figures["data_mib"]
    figures["key"] = f"{SYSTEMS.index(system)}-{dtype}"
    results[(system, dtype)] = figures
