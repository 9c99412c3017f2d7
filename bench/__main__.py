"""Run the whole benchmark suite and write bench/RESULTS.md: what ``make bench`` and
``fastbp bench`` run, from the root of a source checkout.

    python -m bench              # ~11 minutes on 2 cores
    python -m bench --dry-run    # print the steps only
    python -m bench -k small     # only the benchmarks pytest's -k selects, then the rest
    python -m bench --skip interleaved whole_fits many scaling threads split_batch
                                 # pytest's and the report only

Steps, each in its own process:

Scripts run as modules (``python -m bench.scaling``), so that they, like pytest,
measure the fastbp of this checkout.

1. ``pytest bench --benchmark-enable --benchmark-json=bench/results.json``: seconds per
   epoch of every system on every case, BLAS threads, GEMM references, start-up
   time, peak memory (bench/.memory.json);
2. ``bench/interleaved.py``: every system's epochs again, timed in turn round by
   round, so that ratios do not drift with the machine;
3. ``bench/whole_fits.py``: whole fits of small sets, as users run them, side by side;
   ``bench/many.py``: 16 networks at once (fit_many against the same fitted one
   after another, scikit-learn, JAX's and PyTorch's vmap) and a 16-candidate
   GridSearchCV; ``bench/scaling.py``: fastbp's epoch time against samples and width;
4. ``bench/threads.py``: thread-parallel fits;
5. ``bench/split_batch.py``: splitting each minibatch across the cores (an
   experiment on fastbp's internal kernels: if it fails, the report quotes the
   figures committed with it);
6. ``bench/report.py``: RESULTS.md, results.png, scaling.png.

Every step runs even if one before it failed (the report shows what was measured);
the exit status is non-zero if any step but 5 failed. Peers that are not
installed are skipped; ``make bench`` installs them first.
"""

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("results.json", ".memory.json", "interleaved.json", "scaling.json", "threads.json",
           "split_batch.json", "whole_fits.json", "many.json")  # fmt: skip
INSTALL = {"torch": "pip install torch==2.13.0", "jax": "pip install jax jaxlib"}


def steps(select=None):
    py = sys.executable
    pytest = [py, "-m", "pytest", "bench", "--benchmark-enable"]
    pytest += ["--benchmark-json=bench/results.json", "-p", "no:cacheprovider"]
    if select:
        pytest += ["-k", select]
    # name: (command, required); a failed optional step does not fail the run.
    return {
        "pytest": (pytest, True),
        "interleaved": ([py, "-m", "bench.interleaved", "--json", "bench/interleaved.json"], True),
        "whole_fits": ([py, "-m", "bench.whole_fits", "--json", "bench/whole_fits.json"], True),
        "many": ([py, "-m", "bench.many", "--json", "bench/many.json"], True),
        "scaling": ([py, "-m", "bench.scaling", "--json", "bench/scaling.json"], True),
        "threads": ([py, "-m", "bench.threads", "--json", "bench/threads.json"], True),
        "split_batch": (
            [py, "-m", "bench.split_batch", "--json", "bench/split_batch.json"],
            False,
        ),
        "report": ([py, "-m", "bench.report"], True),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument("-k", metavar="EXPR", help="run only the benchmarks pytest -k selects")
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["interleaved", "whole_fits", "many", "scaling", "threads", "split_batch"],
        help="leave these steps out (their sections are then missing from the report)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)

    plan = [step for name, step in steps(args.k).items() if name not in args.skip]
    if args.dry_run:
        for cmd, _ in plan:
            print(" ".join(cmd))
        return 0
    for peer, how in INSTALL.items():
        if importlib.util.find_spec(peer) is None:
            print(f"note: {peer} is not installed, so it is not measured ({how} adds it)")
    for name in OUTPUTS:  # no figures from an earlier run may reach this report
        (ROOT / "bench" / name).unlink(missing_ok=True)
    failed = []
    for cmd, required in plan:
        print("\n$ " + " ".join(cmd), flush=True)
        code = subprocess.call(cmd, cwd=ROOT)
        if code != 0:
            print(f"exit status {code}" + ("" if required else " (optional step)"), flush=True)
            if required:
                failed.append(cmd)
    if failed:
        print("\nfailed: " + "; ".join(" ".join(c[1:3]) for c in failed), file=sys.stderr)
        return 1
    print(f"\nwrote {ROOT / 'bench' / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
