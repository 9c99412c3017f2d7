"""Peak memory of one system training the large case, in this (fresh) process.

    python -m bench.memory SYSTEM DTYPE      # prints one JSON line

Steps: import the library and build the data (``rss_setup_mib``: resident memory
then, the baseline); train one epoch, the first, which compiles (Numba, XLA) and
allocates (``peak_first_mib``: the process's high-water mark of resident memory);
then, when Linux lets the process reset its high-water mark (/proc/self/clear_refs),
one more epoch measured alone (``peak_steady_mib``, against the resident memory
just before it, ``rss_before_steady_mib``). The figures that compare systems are
the peaks above the baseline: ``first_above_setup_mib`` and
``steady_above_before_mib``.

The high-water mark is VmHWM from /proc/self/status, the same counter
getrusage(RUSAGE_SELF).ru_maxrss reads, with one difference that matters here:
Linux carries ru_maxrss over an exec, so a child of a large process (pytest, after
the epoch benchmarks: ~1.3 GiB) reports its parent's peak; VmHWM starts afresh.
ru_maxrss is recorded too (``ru_maxrss_mib``).

bench/test_bench_memory.py runs it once per system and dtype (benchmarks only).
"""

import json
import resource
import sys

from bench.cases import CASES, make_data
from bench.peers import make_trainer

IMPORTS = {
    "fastbp": "fastbp",
    "sklearn": "sklearn.neural_network",
    "torch": "torch",
    "jax": "jax.numpy",
}


def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mib():
    return status_mib("VmRSS")


def peak_mib():
    # The kernel folds the latest resident pages into the mark lazily: take both.
    return max(status_mib("VmHWM"), rss_mib())


def reset_peak():
    """Reset the high-water mark to the current resident memory (Linux >= 4.0);
    False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return peak_mib() <= rss_mib() + 1


def measure(system, dtype, case_name="large"):
    __import__(IMPORTS[system])
    case = CASES[case_name]
    X, y = make_data(case, dtype)
    out = dict(system=system, dtype=dtype, case=case_name, data_mib=(X.nbytes + y.nbytes) / 2**20)
    out["rss_setup_mib"] = rss_mib()
    trainer = make_trainer(system, case, dtype, X, y)
    trainer.epochs(1)
    out["peak_first_mib"] = peak_mib()
    out["first_above_setup_mib"] = out["peak_first_mib"] - out["rss_setup_mib"]
    out["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    if reset_peak():
        out["rss_before_steady_mib"] = rss_mib()
        trainer.epochs(1)
        out["peak_steady_mib"] = peak_mib()
        out["steady_above_before_mib"] = out["peak_steady_mib"] - out["rss_before_steady_mib"]
    return out


if __name__ == "__main__":
    print(json.dumps(measure(*sys.argv[1:])))
