"""Seconds per epoch in steady state: every system on every case, in both dtypes.

One benchmark per (case, dtype, system), grouped by case and dtype so that
pytest-benchmark's table compares the systems side by side. Compilation and
warm-up stay out of the timings: each trainer runs one epoch before anything is
timed. A timed round is ``n`` epochs, ``n`` chosen so that a round lasts about
ROUND_S; the figure is the median round divided by ``n`` (extra_info
"seconds_per_epoch"). With benchmarking disabled (plain ``pytest``), the
benchmark runs one epoch once as a smoke test.
"""

import math
import time

import numpy as np
import pytest

from bench.cases import CASES, DTYPES, epoch_flops, make_data, squared_error
from bench.peers import SYSTEMS, make_trainer

ROUND_S = 0.3  # wall time of one timed round
ROUNDS = 7
MAX_EPOCHS_PER_ROUND = 5000

PARAMS = [
    pytest.param(case, dtype, system, id=f"{case}-{dtype}-{system}")
    for case in CASES
    for dtype in DTYPES
    for system in SYSTEMS  # a group's systems run one after the other, close in time
]


def require(system):
    if system in ("torch", "jax"):
        pytest.importorskip(system)


def timed(func, *args):
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


@pytest.mark.parametrize("case_name, dtype, system", PARAMS)
def test_epoch(benchmark, case_name, dtype, system):
    require(system)
    case = CASES[case_name]
    X, y = make_data(case, dtype)
    trainer = make_trainer(system, case, dtype, X, y)
    benchmark.group = f"{case_name}-{dtype}"

    trainer.epochs(1)  # compile (Numba, XLA), allocate, initialise: not timed
    loss_first = squared_error(trainer.predict(), y)
    info = dict(system=system, case=case_name, dtype=dtype, flops_per_epoch=epoch_flops(case))

    if benchmark.disabled:
        benchmark(trainer.epochs, 1)
        info.update(epochs_per_round=1)
    else:
        one = timed(trainer.epochs, 1)
        n = max(1, min(MAX_EPOCHS_PER_ROUND, math.ceil(ROUND_S / one)))
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

    loss_last = squared_error(trainer.predict(), y)
    info.update(loss_first=loss_first, loss_last=loss_last)
    benchmark.extra_info.update(info)

    assert trainer.param_dtype == np.dtype(dtype), "trained in another dtype"
    assert math.isfinite(loss_last)
    assert loss_last < loss_first, "the epochs after the first did not lower the loss"
