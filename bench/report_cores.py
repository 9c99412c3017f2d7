"""bench/report.py's "Both cores" section: BLAS threads on large layers,
thread-parallel fits, minibatches split across the cores, and where BLAS takes over
from loops. fastbp's thresholds are quoted from fastbp itself, so that the text
follows them when they change."""

from bench.cases import CASES
from bench.report_format import fmt_time, table
from bench.report_parse import blas_thread_times
from fastbp._config import BLAS_THREADS_MIN_FLOPS
from fastbp._kernels.config import BLAS_MIN_FLOPS
from fastbp._kernels.generated import MAX_PRODUCT
from fastbp._threads import one_blas_thread

# Figures committed with bench/split_batch.py (commit 74ddb77), quoted when this run has none.
SPLIT_BATCH_COMMITTED = (
    "small 0.65×, mid 1.05×, large 0.17× (with OpenBLAS's two threads; 1.44× against "
    "one-thread BLAS, still slower than one thread with two-thread BLAS), float64"
)


def power_of_two(n):
    """``n`` as 2^k if it is a power of two (thresholds read better so), else as is."""
    if n > 0 and n & (n - 1) == 0:
        return f"2^{n.bit_length() - 1}"
    return f"{n:,}"


def blas_threads_of(case):
    """The BLAS threads fastbp's own rule (fastbp._threads) gives minibatch fits of
    ``case``: "one thread" or "all"."""
    c = CASES[case]
    return "one thread" if one_blas_thread(c.layers, c.batch_size) else "all"


def blas_threads_table(results):
    rows = []
    for (case, dtype), r in blas_thread_times(results).items():
        if 1 in r and None in r:
            one, default = r[1][0], r[None][0]
            rows.append(
                [
                    f"{case} {CASES[case].label}",
                    dtype,
                    fmt_time(one),
                    f"{fmt_time(default)} ({r[None][1]} threads)",
                    f"{one / default:.2f}×",
                ]
            )
    if not rows:
        return None
    header = ["case", "dtype", "1 BLAS thread", "BLAS default", "default's speed-up"]
    return table(header, rows, ["l", "l", "r", "r", "r"])


def split_batch_table(split):
    rows = []
    for name, r in split.items():
        for blas, label in (("blas_default", "default"), ("blas_1", "1")):
            if blas in r:
                f = r[blas]
                rows.append(
                    [
                        name,
                        label,
                        fmt_time(f["one_thread_s"]),
                        fmt_time(f["split_s"]),
                        f"{f['speedup']:.2f}×",
                    ]
                )
    header = ["network", "BLAS threads", "whole batch, 1 thread", "split in 2 threads", "gain"]
    return table(header, rows, ["l", "l", "r", "r", "r"])


def threads_table(threads):
    rows = [
        [
            name,
            f"{r['one_thread_s']:.2f} s",
            f"{r['two_threads_s']:.2f} s",
            f"{r['speedup']:.2f}×",
            "yes" if r["identical"] else "**no**",
        ]
        for name, r in threads.items()
        if isinstance(r, dict)
    ]
    return table(["network", "one at a time", "2 threads", "speed-up", "same models"], rows)


def both_cores_section(results, threads, split):
    parts = [
        "fastbp trains each minibatch on one thread of its own; the two cores come in "
        "through BLAS's threads on large layer products, and through fits running in "
        "parallel threads (the kernels release the GIL). What was measured:"
    ]
    blas = blas_threads_table(results)
    if blas:
        parts.append(
            "**BLAS threads on large layers** (bench/test_bench_blas_threads.py): fastbp's "
            "seconds per epoch with OpenBLAS limited to one thread (threadpoolctl) against "
            "its default, one thread per core. This measurement sets fastbp's own rule "
            "(switched off while it runs): minibatch fits use one BLAS thread unless some "
            "layer's product for a batch reaches `BLAS_THREADS_MIN_FLOPS` = "
            f"{power_of_two(BLAS_THREADS_MIN_FLOPS)} multiply-adds (fastbp/_config.py), so "
            f"mid trains on {blas_threads_of('mid')} and large on {blas_threads_of('large')}."
            "\n\n" + blas
        )
    if threads:
        parts.append(
            "**Thread-parallel fits** (bench/threads.py): 8 `MLPRegressor` fits (10 epochs "
            "each) one after the other, then in 2 threads (joblib's threading backend; a fit "
            "off the main thread uses one BLAS thread).\n\n" + threads_table(threads)
        )
    if split:
        parts.append(
            "**Splitting a minibatch across the two cores** (bench/split_batch.py): the two "
            "halves of every minibatch run their forward and backward passes in a Numba "
            "`prange`, the gradients are summed, one SGD step follows; against fastbp's "
            "one-thread epoch, float64. Above 1× the split pays.\n\n" + split_batch_table(split)
        )
    else:
        parts.append(
            "**Splitting a minibatch across the two cores** (bench/split_batch.py, not run "
            "in this run or it failed): its figures as committed with it: "
            f"{SPLIT_BATCH_COMMITTED}. Waking a thread team for every minibatch costs "
            "about what the half saves. Reproduce: `python -m bench.split_batch`."
        )
    # 256, ~210 and ~55 ns are history (the threshold before BLAS was called
    # directly), not a current setting: they stay as written.
    parts.append(
        "**Where BLAS takes over from loops** (bench/crossover.py, bench/CROSSOVER.md): "
        "a layer product goes to BLAS when rows × fan-in × fan-out reaches "
        f"`BLAS_MIN_FLOPS` = {BLAS_MIN_FLOPS} (fastbp/_kernels/config.py), "
        "below it to Numba loops. The value comes from timing both paths on 2,916 shapes "
        "per path (batch 1-256, widths 1-784, both dtypes, each of the three products): "
        "while the kernels called `np.dot` on array views, 256 was the best single threshold "
        "in every run (idle, one BLAS thread, half zeros, busy). Since they call BLAS "
        "directly (fastbp/_kernels/blas.py), its fixed cost per call fell from ~210 to ~55 ns and "
        f"the best threshold to {BLAS_MIN_FLOPS}; tiny networks whose every product for one "
        f"row is below `MAX_PRODUCT` = {MAX_PRODUCT} train plain SGD one row at a time with a "
        "kernel generated for them (CROSSOVER.md, last section). Reproduce: "
        "`python bench/crossover.py` (~1 minute)."
    )
    return "\n\n".join(parts)
