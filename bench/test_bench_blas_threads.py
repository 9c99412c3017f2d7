"""Does OpenBLAS's own threading pay on fastbp's layers? fastbp's seconds per epoch
on mid and large with BLAS limited to one thread (threadpoolctl, both OpenBLAS
libraries: numpy's and SciPy's, which Numba's np.dot calls) against BLAS's default
(one thread per core). fastbp's own rule (one BLAS thread when every product of a
minibatch is below fastbp._config.BLAS_THREADS_MIN_FLOPS) is switched off here,
since this is the measurement that sets it. Timed as in bench/timing.py;
bench/report.py sets the two side by side under "Both cores".
"""

from contextlib import nullcontext

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from bench.cases import CASES, DTYPES
from bench.timing import time_epochs


def blas_threads():
    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


@pytest.mark.parametrize("limit", [1, None], ids=["1-thread", "default"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_name", ["mid", "large"])
def test_blas_threads(benchmark, benchmarking, monkeypatch, case_name, dtype, limit):
    import scipy.linalg  # noqa: F401 - SciPy's BLAS, loaded so that it is limited too

    from fastbp import _threads

    case = CASES[case_name]
    monkeypatch.setattr(_threads, "BLAS_THREADS_MIN_FLOPS", 0)  # fits keep BLAS's threads
    assert not _threads.one_blas_thread(case.layers, case.batch_size)

    benchmark.group = f"blas-threads-{case_name}-{dtype}"
    with threadpool_limits(limit, user_api="blas") if limit else nullcontext():
        threads = blas_threads()
        time_epochs(benchmark, "fastbp", case_name, dtype)
    benchmark.extra_info.update(blas_threads=threads, blas_limit=limit)
    if benchmarking:  # (the smoke run limits BLAS to one thread: bench/conftest.py)
        assert threads == 1 if limit else threads > 1, f"BLAS ran {threads} thread(s)"
