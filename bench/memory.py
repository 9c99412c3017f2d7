"""Peak memory of one system training the large case, in this (fresh) process.

    python -m bench.memory SYSTEM DTYPE [--warm] [--smoke] [--case large]   # one JSON line

Steps, each followed by a reading of resident memory:

1. import the library and build the data: ``setup_mib``, the baseline every other
   figure is taken against. With ``--warm``, a fit on the first few minibatches of
   the data comes before this reading, so that compiled code (Numba loading its
   cache) is already in the baseline: the figures then show what training itself
   needs. (For JAX this does not help: XLA compiles again for each shape.)
2. building the model (JAX copies the data to its device here) and the first
   epoch, which compiles (Numba, XLA) and allocates: ``first_peak_mib``, the
   high-water mark during them, and ``after_first_mib``, what the process holds
   once they are over;
3. when Linux lets the process reset its high-water mark (writing "5" to
   /proc/self/clear_refs), ``EPOCHS`` more epochs measured alone: ``later_peak_mib``,
   against the memory just before them (``before_later_mib``). A system that
   allocates nothing per epoch has ``later_peak_mib - before_later_mib`` near 0.

The high-water mark is VmHWM from /proc/self/status. Not getrusage's ru_maxrss:
Linux carries ru_maxrss over fork and exec, so a child of a large process (pytest,
after the epoch benchmarks: ~1.3 GiB) would report its parent's peak. VmHWM
belongs to this process's own address space, which exec starts afresh.
ru_maxrss is recorded too (``ru_maxrss_mib``), for comparison.

bench/test_bench_memory.py runs this once per system and dtype, each in a fresh
subprocess (fastbp only, as a smoke test, under plain ``pytest``).
"""

import argparse
import json
import resource

from bench.cases import CASES, make_data, smoke_samples
from bench.peers import make_trainer

IMPORTS = {
    "fastbp": "fastbp",
    "sklearn": "sklearn.neural_network",
    "torch": "torch",
    "jax": "jax.numpy",
}
EPOCHS = 2  # epochs measured after the reset


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


def measure(system, dtype, case_name="large", warm=False, smoke=False):
    __import__(IMPORTS[system])
    case = CASES[case_name]
    X, y = make_data(case, dtype, n_samples=smoke_samples(case) if smoke else None)
    out = dict(system=system, dtype=dtype, case=case_name, warm=warm)
    out["data_mib"] = (X.nbytes + y.nbytes) / 2**20
    if warm:
        rows = 3 * case.batch_size
        make_trainer(system, case, dtype, X[:rows].copy(), y[:rows].copy()).epochs(1)
    out["setup_mib"] = rss_mib()
    out["reset_peak"] = reset_peak()
    trainer = make_trainer(system, case, dtype, X, y)
    trainer.epochs(1)
    out["first_peak_mib"] = peak_mib()
    out["after_first_mib"] = rss_mib()
    out["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    if out["reset_peak"] and reset_peak():
        out["before_later_mib"] = rss_mib()
        trainer.epochs(EPOCHS)
        out["later_peak_mib"] = peak_mib()
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=sorted(IMPORTS))
    parser.add_argument("dtype", choices=["float32", "float64"])
    parser.add_argument("--case", default="large", choices=sorted(CASES))
    parser.add_argument("--warm", action="store_true", help="a small fit before the baseline")
    parser.add_argument("--smoke", action="store_true", help="a few minibatches of data only")
    args = parser.parse_args()
    print(json.dumps(measure(args.system, args.dtype, args.case, args.warm, args.smoke)))


if __name__ == "__main__":
    main()
