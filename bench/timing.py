"""Timing one trainer's steady-state epochs with pytest-benchmark, shared by
bench/test_bench_epochs.py and bench/test_bench_blas_threads.py.

Compilation and warm-up stay out of the timings: the trainer runs one epoch before
anything is timed. A timed round is ``n`` epochs, ``n`` chosen so that a round
lasts about ROUND_S (``epochs_per_round``); the figure is the median round divided
by ``n`` (extra_info "seconds_per_epoch"). With benchmarking disabled (plain
``pytest``), it is a smoke test on a few minibatches of the case's data
(cases.smoke_samples): two epochs, then it checks that the second lowered the
training loss, that the outputs are finite and that training kept the dtype.
"""

import math
import time

import numpy as np

from bench.cases import CASES, epoch_flops, make_data, smoke_samples, squared_error
from bench.peers import make_trainer

ROUND_S = 0.3  # wall time of one timed round
ROUNDS = 7
MAX_EPOCHS_PER_ROUND = 5000


def timed(func, *args):
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def epochs_per_round(trainer, round_s, cap=MAX_EPOCHS_PER_ROUND):
    """Epochs per timed call, so that a call lasts about ``round_s``.

    Found by doubling from one epoch until a call lasts half of it: a single
    epoch's time would include a whole fit call's fixed cost (validation, buffers:
    ~1 ms for fastbp, 10x the seed network's epoch) and give far too few epochs.
    """
    n = 1
    while True:
        t = timed(trainer.epochs, n)
        if t >= round_s / 2 or n >= cap:
            return cap if t <= 0 else max(1, min(cap, math.ceil(n * round_s / t)))
        n *= 2


def time_epochs(benchmark, system, case_name, dtype):
    """Build ``system``'s trainer on the case, time its epochs, check what it learnt.
    Returns the figures, also stored in benchmark.extra_info."""
    case = CASES[case_name]
    X, y = make_data(case, dtype, n_samples=smoke_samples(case) if benchmark.disabled else None)
    trainer = make_trainer(system, case, dtype, X, y)

    trainer.epochs(1)  # compile (Numba, XLA), allocate, initialise: not timed
    loss_first = squared_error(trainer.predict(), y)
    info = dict(system=system, case=case_name, dtype=dtype, flops_per_epoch=epoch_flops(case))
    info.update(trainer.info())

    if benchmark.disabled:
        benchmark(trainer.epochs, 1)
        info.update(epochs_per_round=1, n_samples=len(X))
    else:
        n = epochs_per_round(trainer, ROUND_S)
        benchmark.pedantic(trainer.epochs, args=(n,), rounds=ROUNDS, iterations=1)
        stats = benchmark.stats.stats
        per_epoch = stats.median / n
        info.update(
            epochs_per_round=n,
            seconds_per_epoch=per_epoch,
            seconds_per_epoch_min=stats.min / n,
            gflops=epoch_flops(case) / per_epoch / 1e9,
        )
        if system in ("fastbp", "sklearn"):
            # A fit's fixed cost (validation, buffers), included once in every round.
            one_epoch_fits = [timed(trainer.epochs, 1) for _ in range(5)]
            info["fit_overhead_s"] = float(np.median(one_epoch_fits)) - per_epoch

    pred = trainer.predict()
    loss_last = squared_error(pred, y)
    info.update(loss_first=loss_first, loss_last=loss_last)
    benchmark.extra_info.update(info)

    assert trainer.param_dtype == np.dtype(dtype), "trained in another dtype"
    assert np.shape(pred)[0] == len(y) and np.all(np.isfinite(pred))
    assert loss_last < loss_first, "the epochs after the first did not lower the loss"
    return info
