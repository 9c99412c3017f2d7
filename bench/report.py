"""Write bench/RESULTS.md, bench/results.png and bench/scaling.png from the figures of
the last ``make bench``. Measures nothing itself; reads:

- bench/results.json: pytest-benchmark's JSON (``--benchmark-json``): seconds per
  epoch (test_bench_epochs.py), BLAS threads (test_bench_blas_threads.py), GEMM
  references (test_bench_gemm.py), start-up (test_bench_startup.py);
- bench/.memory.json: peak memory (test_bench_memory.py);
- bench/whole_fits.json: whole fits of small sets (whole_fits.py);
- bench/many.json: 16 networks at once and a 16-candidate search (many.py);
- bench/scaling.json: fastbp's epoch time against samples and width (scaling.py);
- bench/threads.json: thread-parallel fits (threads.py);
- bench/split_batch.json: minibatches split across the cores (split_batch.py).

Sections whose figures are missing are left out (split_batch: its committed
figures are quoted instead).

It describes the machine it runs on, which is the one that ran the benchmarks
when run by ``make bench``.

    python -m bench.report [--dir bench]

This module lays out the page; the work is done by, one job each:

- report_parse.py: reading the JSON figures;
- report_machine.py: describing the machine;
- report_judge.py: the issue's targets and the ✓/✗ verdicts (the "Targets" table);
- report_format.py: names, times, ratios, markdown tables;
- report_speed.py: seconds per epoch, GFLOP/s, interleaved rounds, scaling;
- report_fits.py: whole fits of small sets, and issue 18's targets for them;
- report_many.py: 16 networks at once and the search, and issue 19's targets for them;
- report_costs.py: start-up time and peak memory;
- report_cores.py: both cores (fastbp's thresholds quoted from fastbp);
- report_draw.py: the two charts.

bench/test_report.py runs it on made-up figures.
"""

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import CASES
from bench.report_cores import both_cores_section
from bench.report_costs import memory_section, startup_section
from bench.report_draw import plot_results, plot_scaling
from bench.report_fits import whole_fits_section
from bench.report_judge import noisy_epochs, targets_section
from bench.report_machine import machine
from bench.report_many import many_section
from bench.report_parse import epoch_infos, epoch_times, gemm_rates, load
from bench.report_speed import epoch_section, gflops_section, interleaved_section, scaling_section
from fastbp._files import replace_text

HERE = Path(__file__).resolve().parent
# bench/memory.py's case (its default), named in the title of the memory section.
MEMORY_CASE = CASES["large"]

INTRO = (
    "Written by `make bench` (bench/report.py); do not edit by hand. fastbp against "
    "scikit-learn, PyTorch (CPU) and JAX on the four reference cases of issue 4: regression "
    "on y = tanh(X·W), X ~ N(0, 1), plain minibatch SGD (learning rate 0.01, no momentum, "
    "no L2 penalty, shuffled every epoch). Every figure is a median over rounds measured "
    "in one run on one machine; on a shared machine compare the ratios, not the absolute "
    "times. How each system is driven: bench/peers.py; how it is timed: "
    "bench/timing.py. Reproduce: `make bench` (or `fastbp bench` in a checkout).\n"
)
GFLOPS_INTRO = (
    "Flops per epoch count 2·m·n·k for every matrix product the epoch does: per layer the "
    "forward product and the weight gradient, and the backward message for every layer "
    "but the first (bench/cases.py). Two references, both numpy's `np.dot` into a "
    "preallocated output in the same dtype (bench/test_bench_gemm.py): one 2048×2048 "
    "product, and the exact products of one epoch (same shapes and transposes, one after "
    "the other, per-call overhead included). fastbp's own products call SciPy's OpenBLAS "
    "(the BLAS Numba's `np.dot` calls) directly on offsets into its flat buffers "
    "(fastbp/_kernels/blas.py), without the per-call overhead of `np.dot` that the epoch shapes' "
    "reference includes.\n"
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", default=HERE, type=Path, help="read the figures and write the report here"
    )
    where = parser.parse_args(argv).dir
    results = load("results.json", where)
    memory = load(".memory.json", where)
    scaling = load("scaling.json", where)
    threads = load("threads.json", where)
    split = load("split_batch.json", where)
    inter = load("interleaved.json", where)
    fits = load("whole_fits.json", where)
    many = load("many.json", where)
    if results is None:
        sys.exit(f"{where / 'results.json'} not found: run `make bench` first")
    times = epoch_times(results)
    rates = gemm_rates(results)

    parts = [
        "# Benchmark results\n",
        INTRO,
        "## Targets\n",
        targets_section(times, rates, results, memory, inter) + "\n",
        "## Machine\n",
        machine(results) + "\n",
        "## Seconds per epoch\n",
        epoch_section(times, noisy_epochs(results), epoch_infos(results)) + "\n",
        "![seconds per epoch](results.png)\n",
    ]
    gflops = gflops_section(times, rates)
    if gflops:
        parts += ["## GFLOP/s against the machine's GEMM rate\n", GFLOPS_INTRO, gflops + "\n"]
    memory_title = (
        f"Peak memory, {MEMORY_CASE.name} case ({MEMORY_CASE.label}, "
        f"{MEMORY_CASE.n_samples:,} samples)"
    )
    for title, section in (
        ("Whole fits as users run them", whole_fits_section(fits)),
        ("Many networks at once", many_section(many)),
        ("Time to first result in a fresh process", startup_section(results)),
        (memory_title, memory_section(memory)),
        ("Side by side, interleaved", interleaved_section(inter)),
        ("Scaling", scaling_section(scaling)),
        ("Both cores", both_cores_section(results, threads, split)),
    ):
        if section:
            parts += [f"## {title}\n", section + "\n"]

    # The charts first, RESULTS.md last: each is replaced whole (fastbp._files), so an
    # interrupted report leaves RESULTS.md as it was (bench/test_report.py).
    if times:
        plot_results(times, where / "results.png")
    if scaling:
        plot_scaling(scaling, where / "scaling.png")
    replace_text(where / "RESULTS.md", "\n".join(parts))
    print(f"wrote {where / 'RESULTS.md'}" + (" and the charts" if times else ""))


if __name__ == "__main__":
    main()
