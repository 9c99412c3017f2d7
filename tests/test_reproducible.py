"""Reproducible: the same random_state gives bit-for-bit the same model.

Across fits in one process, across processes, with Numba's cache cold or warm,
and whatever number of threads BLAS may use. Every comparison here is
``assert_array_equal`` on the raw float64/float32 values: no tolerance.

BLAS threads: fastbp trains sgd/adam on one BLAS thread when every layer product
of a batch is below ``BLAS_THREADS_MIN_FLOPS`` (fastbp/_threads.py), as all of
``BIG``'s are (64 x 128 x 64 = 0.5 M multiply-adds), whatever threadpoolctl or
OPENBLAS_NUM_THREADS say. The thread tests switch that rule off
(``_threads.BLAS_THREADS_MIN_FLOPS = 0``) so that the epochs really run on 2 or 3
threads, and check the count inside the fit (``record_blas_threads``): 0.5 M is
above OpenBLAS's own single-thread cutoff for gemm (m*n*k <= 262144), so BLAS
does split these products. Numba threads: no fastbp kernel is ``parallel=True``
or uses ``prange``, so NUMBA_NUM_THREADS cannot change a bit; rather than fits
with each count, the subprocesses check that Numba's thread pool never started.
``random_state=None`` draws fresh weights from NumPy's global generator on
each fit, as scikit-learn does.

The fits (``reproducible_fits``) cover a network large enough that every layer
product goes through BLAS (hidden (128, 64), 64 features, batches of 64, and
full-batch L-BFGS over 256 rows), in both dtypes, with every solver, dense and
sparse, and seed 000's 1-2-1 softplus network. Subprocesses run this file's
``main`` and write their arrays to an .npz file.
"""

import json
import os
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

import fastbp
from fastbp._config import BLAS_THREADS_MIN_FLOPS

from helpers import blas_threads, needs_two_cpus

HERE = Path(__file__).resolve().parent
BIG = dict(hidden_layer_sizes=(128, 64), batch_size=64, max_iter=2, random_state=7)
SMALL = dict(hidden_layer_sizes=(2,), activation="softplus", max_iter=50, random_state=3)
SEED_X, SEED_Y = np.array([[0.0], [0.5], [1.0]]), np.array([0.0, 1.0, 0.0])


def big_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 64))
    y = np.tanh(X[:, :4].sum(axis=1))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    return X, y, labels


def model_arrays(name, est):
    arrays = {f"{name}/{i}": np.array(a) for i, a in enumerate(est.coefs_ + est.intercepts_)}
    arrays[f"{name}/loss"] = np.array(getattr(est, "loss_curve_", None) or [est.loss_])
    return arrays


def reproducible_fits():
    """name -> array for every fit below (coefs, intercepts, loss curve)."""
    X, y, labels = big_data()
    arrays = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # two epochs do not converge
        for solver in ("sgd", "adam", "lbfgs"):
            for dtype in (np.float64, np.float32):
                Xd, tag = X.astype(dtype), f"{solver}-{np.dtype(dtype).name}"
                reg = fastbp.MLPRegressor(solver=solver, **BIG).fit(Xd, y)
                clf = fastbp.MLPClassifier(solver=solver, **BIG).fit(Xd, labels)
                arrays.update(model_arrays(f"big-reg-{tag}", reg))
                arrays.update(model_arrays(f"big-clf-{tag}", clf))
        S = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))
        arrays.update(model_arrays("big-reg-sparse", fastbp.MLPRegressor(**BIG).fit(S, y)))
        for solver in ("sgd", "adam", "lbfgs"):
            small = fastbp.MLPRegressor(solver=solver, **SMALL).fit(SEED_X, SEED_Y)
            arrays.update(model_arrays(f"seed000-{solver}", small))
    net = fastbp.Network([1, 2, 1], "softplus", random_state=0)
    loss, grad = net.loss_gradient(SEED_X, SEED_Y)
    arrays["seed000-network/grad"] = grad
    arrays["seed000-network/loss"] = np.array([loss])
    return arrays


def record_blas_threads(setattr_=setattr):
    """A list that gets ``blas_threads()`` as each epoch kernel (sgd, adam) and
    each full-batch loss_gradient (lbfgs) runs: the threads BLAS has inside the
    fit, after fastbp's own rules. ``setattr_``: monkeypatch.setattr in a test."""
    from fastbp import Network
    from fastbp._kernels import passes

    seen = []
    epoch_kernel, loss_gradient = Network._epoch_kernel, passes.loss_gradient

    def spy_epoch_kernel(self, *args, **kwargs):
        kernel = epoch_kernel(self, *args, **kwargs)

        def run_epoch(*a):
            seen.append(blas_threads())
            return kernel(*a)

        return run_epoch

    def spy_loss_gradient(*args, **kwargs):
        seen.append(blas_threads())
        return loss_gradient(*args, **kwargs)

    setattr_(Network, "_epoch_kernel", spy_epoch_kernel)
    setattr_(passes, "loss_gradient", spy_loss_gradient)
    return seen


def numba_pool_started():
    """Whether Numba started its thread pool (only parallel=True code does)."""
    import numba

    try:
        numba.threading_layer()
    except ValueError:  # "Threading layer is not initialized."
        return False
    return True


def runtime_info(fit_threads):
    import numba

    return {
        "blas_threads": blas_threads(),
        "fit_blas_threads": sorted({n for seen in fit_threads for n in seen}),
        "numba_pool_started": numba_pool_started(),
        "jit": not numba.config.DISABLE_JIT,
        "cache_dir": numba.config.CACHE_DIR,
    }


def main(path, blas_rule=True):
    """In a subprocess: write the fits to ``path`` and print the runtime's threads.
    ``blas_rule=False``: sgd/adam keep BLAS's threads (no one-thread rule)."""
    from fastbp import _threads

    if not blas_rule:
        _threads.BLAS_THREADS_MIN_FLOPS = 0
    seen = record_blas_threads()
    np.savez(path, **reproducible_fits())
    print(json.dumps(runtime_info(seen)))


def assert_bitwise_equal(a, b, what):
    """Every array of ``a`` and ``b`` equal bit for bit; else the largest differences."""
    assert sorted(a) == sorted(b)
    differ = []
    for key in sorted(a):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        assert x.dtype == y.dtype and x.shape == y.shape, key
        if x.tobytes() != y.tobytes():
            diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
            scale = np.maximum(np.abs(y.astype(np.float64)), np.finfo(x.dtype).tiny)
            differ.append(
                f"{key}: max abs diff {diff.max():.3g}, max rel {(diff / scale).max():.3g}"
            )
    assert not differ, f"{what}: not bit-for-bit:\n" + "\n".join(differ)


@pytest.fixture(scope="module")
def here_arrays():
    """This process's fits (compiled with the project's Numba cache)."""
    return reproducible_fits()


# ----- in one process -----


def small_fits():
    """Seed-sized and small fits: quick even with NUMBA_DISABLE_JIT."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(40, 5))
    y, labels = X[:, 0] - X[:, 1] ** 2, (X[:, 0] > 0).astype(int) + (X[:, 2] > 0)
    arrays = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("sgd", "adam", "lbfgs"):
            for dtype in (np.float64, np.float32):
                tag = f"{solver}-{np.dtype(dtype).name}"
                params = dict(hidden_layer_sizes=(8, 4), solver=solver, max_iter=5, batch_size=16)
                reg = fastbp.MLPRegressor(random_state=2, **params).fit(X.astype(dtype), y)
                clf = fastbp.MLPClassifier(random_state=2, **params).fit(X.astype(dtype), labels)
                arrays.update(
                    {**model_arrays(f"reg-{tag}", reg), **model_arrays(f"clf-{tag}", clf)}
                )
            small = fastbp.MLPRegressor(solver=solver, **SMALL).fit(SEED_X, SEED_Y)
            arrays.update(model_arrays(f"seed000-{solver}", small))
    return arrays


def test_same_random_state_same_bits_within_a_process_small():
    first = small_fits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fastbp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=5).fit(SEED_X, SEED_Y)
    assert_bitwise_equal(small_fits(), first, "second run in the same process")
    with threadpool_limits(limits=1, user_api="blas"):
        assert_bitwise_equal(small_fits(), first, "one BLAS thread")


@pytest.mark.slow
def test_same_random_state_same_bits_within_a_process(here_arrays):
    # other fits in between (another seed, another dtype, a thread) change nothing
    X, y, labels = big_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fastbp.MLPClassifier(**{**BIG, "random_state": 8}).fit(X.astype(np.float32), labels)
        worker = threading.Thread(target=lambda: fastbp.MLPRegressor(**BIG).fit(X[:50], y[:50]))
        worker.start()
        worker.join()
    assert_bitwise_equal(reproducible_fits(), here_arrays, "second run in the same process")


# scipy's L-BFGS-B (which scikit-learn's lbfgs solver calls too) does its own
# vector arithmetic with BLAS level-1 calls; OpenBLAS splits a ddot over more than
# ~10k elements across its threads, so the sum's rounding depends on the thread
# count (float64 coefs differed by up to 7.7e-14 relative after 2 iterations, as
# scikit-learn's do). fastbp runs scipy's part on one BLAS thread and gives its
# own kernels, whose bits do not depend on the thread count (their gemm splits
# rows and columns, never the sum: test_kernels_do_not_depend_on_blas_threads),
# the caller's threads back (fastbp/_solvers.py, minimize_lbfgs).
SOLVER_DTYPES = [
    pytest.param(solver, dtype, id=f"{solver}-{np.dtype(dtype).name}")
    for solver in ("sgd", "adam", "lbfgs")
    for dtype in (np.float64, np.float32)
]


# The products of BIG's fits (rows x fan_in x fan_out, forward and weight gradient).
BLAS_PROBE_SHAPES = ((256, 64, 128), (256, 128, 64), (64, 64, 128), (64, 128, 64), (128, 64, 64))


def blas_thread_variation(limits=(1, 2, 3)):
    """None if scipy's BLAS (the one fastbp's kernels call) gives the same bits for
    BIG's products on each number of threads in ``limits``, else which product differs.

    fastbp's kernels split no sum across threads, but they cannot be more
    reproducible than the BLAS they call: OpenBLAS's Haswell kernels (chosen
    with OPENBLAS_CORETYPE=Haswell on an AVX-512 machine, as on the project's
    AMD EPYC machines) change the last bits of some products with the number of
    threads, and so do scikit-learn's fits on them. Its SkylakeX kernels keep them
    on 1 and 2 threads there, not on 3 (a third share of a product's columns on 2
    CPUs), while on the Intel Xeon of earlier sessions they kept them on 1 to 3."""
    from scipy.linalg import blas

    rng = np.random.RandomState(0)
    for gemm in (blas.sgemm, blas.dgemm):
        for m, k, n in BLAS_PROBE_SHAPES:
            a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
            products = []
            for limit in limits:
                with threadpool_limits(limits=limit, user_api="blas"):
                    products.append(gemm(1.0, a, b).tobytes())
            if len(set(products)) > 1:
                arch = sorted({d.get("architecture") for d in threadpool_info()} - {None})
                return (
                    f"{gemm.__name__.split()[-1]} on {limits} threads: the product of "
                    f"({m} x {k}) @ ({k} x {n}) differs (OpenBLAS kernels {arch}, "
                    f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')})"
                )
    return None


def needs_thread_invariant_blas():
    """Skip unless this process's BLAS keeps its bits across thread counts: the
    property under test is then the BLAS's, not fastbp's (see blas_thread_variation;
    test_same_bits_whatever_the_number_of_blas_threads checks fastbp's in processes
    with kernels that keep them)."""
    needs_two_cpus()
    variation = blas_thread_variation()
    if variation:
        pytest.skip(variation)


@pytest.mark.slow
@pytest.mark.parametrize("solver,dtype", SOLVER_DTYPES)
def test_blas_thread_count_does_not_change_a_bit_in_process(solver, dtype, monkeypatch):
    needs_thread_invariant_blas()
    from fastbp import _threads

    # BIG's products are below the rule's threshold: without this, sgd and adam
    # would train on one BLAS thread whatever the limit (see the module docstring)
    monkeypatch.setattr(_threads, "BLAS_THREADS_MIN_FLOPS", 0)
    seen = record_blas_threads(monkeypatch.setattr)
    X, y, labels = big_data()
    X = X.astype(dtype)
    fits, threads = {}, {}

    def fit(key):
        seen.clear()
        reg = fastbp.MLPRegressor(solver=solver, **BIG).fit(X, y)
        clf = fastbp.MLPClassifier(solver=solver, **BIG).fit(X, labels)
        fits[key], threads[key] = {**model_arrays("reg", reg), **model_arrays("clf", clf)}, seen[:]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for limit in (1, 2, 3):
            with threadpool_limits(limits=limit, user_api="blas"):
                fit(limit)
        # a fit in a worker thread runs with one BLAS thread (see _base.py)
        worker = threading.Thread(target=fit, args=("worker",))
        worker.start()
        worker.join()
    for key, n in ((1, 1), (2, 2), (3, 3), ("worker", 1)):  # the threads inside each fit
        assert len(threads[key]) >= 4 and all(t == [n] for t in threads[key]), (key, threads[key])
    assert_bitwise_equal(fits["worker"], fits[1], "worker thread vs 1 BLAS thread")
    for limit in (2, 3):
        assert_bitwise_equal(fits[limit], fits[1], f"{limit} BLAS threads vs 1")


def test_lbfgs_runs_on_the_callers_blas_threads(monkeypatch):
    # The compiled L-BFGS (fastbp/_kernels/lbfgs.py) sums its vectors in its own loops,
    # whatever BLAS's threads; its loss and gradient get the caller's threads for
    # their products where a chunk's products are large (as sgd's and adam's
    # minibatches: _threads.one_blas_thread), else one.
    needs_two_cpus()
    from fastbp._kernels import lbfgs

    seen = []
    real = lbfgs.run_lbfgs

    def run_lbfgs(*args):
        seen.append(blas_threads())
        return real(*args)

    monkeypatch.setattr(lbfgs, "run_lbfgs", run_lbfgs)
    X, y, _ = big_data()
    est = fastbp.MLPRegressor(**{**BIG, "solver": "lbfgs", "max_iter": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # 256 rows: 256 x 64 x 128 multiply-adds, below BLAS_THREADS_MIN_FLOPS
        assert 256 * 64 * 128 < BLAS_THREADS_MIN_FLOPS <= 2048 * 64 * 128
        with threadpool_limits(limits=2, user_api="blas"):
            est.fit(X, y)
            assert blas_threads() == [2]
        assert seen and all(t == [1] for t in seen)
        X, y = np.tile(X, (8, 1)), np.tile(y, 8)
        for limit in (2, 1):
            seen.clear()
            with threadpool_limits(limits=limit, user_api="blas"):
                est.fit(X, y)
                assert blas_threads() == [limit]  # as they were
            assert seen and all(t == [limit] for t in seen)
        # a fit in a worker thread runs on one BLAS thread (unless another Python
        # thread holds a threadpoolctl limit: threadpoolctl lets one thread at a
        # time set OpenBLAS's process-wide thread count)
        seen.clear()
        before = blas_threads()
        worker = threading.Thread(target=est.fit, args=(X, y))
        worker.start()
        worker.join()
        assert blas_threads() == before
    assert seen and all(t == [1] for t in seen)


def test_kernels_do_not_depend_on_blas_threads():
    needs_thread_invariant_blas()
    X, y, _ = big_data()
    for dtype in (np.float64, np.float32):
        net = fastbp.Network([64, 128, 64, 1], "tanh", dtype=dtype, random_state=0)
        results = []
        for limit in (1, 2, 3):
            with threadpool_limits(limits=limit, user_api="blas"):
                loss, grad = net.loss_gradient(X, y, alpha=0.1)
                results.append({"loss": np.array([loss]), "grad": grad, "out": net.forward(X)})
        for limit, other in zip((2, 3), results[1:]):
            assert_bitwise_equal(other, results[0], f"{dtype.__name__}: {limit} threads vs 1")


# ----- random_state=None: fresh weights each fit, as scikit-learn -----


@pytest.fixture
def global_rng():
    state = np.random.get_state()  # noqa: NPY002 - scikit-learn's source for None
    yield
    np.random.set_state(state)  # noqa: NPY002


@pytest.mark.parametrize("cls", ["MLPRegressor", "MLPClassifier"])
def test_random_state_none_draws_fresh_weights_like_sklearn(cls, global_rng):
    X, y, labels = big_data()
    X, target = X[:60, :5], (y if cls == "MLPRegressor" else labels)[:60]
    params = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=None)
    ours = getattr(fastbp, cls)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = [a.copy() for a in ours.fit(X, target).coefs_]
        second = [a.copy() for a in ours.fit(X, target).coefs_]
        other = getattr(fastbp, cls)(**params).fit(X, target).coefs_
        assert not np.array_equal(first[0], second[0])
        assert not np.array_equal(second[0], other[0])
        # the draws are NumPy's global generator's, consumed as scikit-learn does
        for seed in (0, 1):
            np.random.seed(seed)  # noqa: NPY002
            a = getattr(fastbp, cls)(**params).fit(X, target)
            b = getattr(fastbp, cls)(**params).fit(X, target)  # continues the stream
            np.random.seed(seed)  # noqa: NPY002
            c = getattr(sk, cls)(**params).fit(X, target)
            d = getattr(sk, cls)(**params).fit(X, target)
            for ours_, theirs in ((a, c), (b, d)):
                for u, v in zip(
                    ours_.coefs_ + ours_.intercepts_, theirs.coefs_ + theirs.intercepts_
                ):
                    np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
            np.random.seed(seed)  # noqa: NPY002
            again = getattr(fastbp, cls)(**params).fit(X, target)
            np.testing.assert_array_equal(again.coefs_[0], a.coefs_[0])


def test_a_random_state_instance_is_consumed_like_sklearns():
    X, y, _ = big_data()
    X, y = X[:60, :5], y[:60]
    ours_rs, theirs_rs = np.random.RandomState(5), np.random.RandomState(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):  # the second fit draws further along the same stream
            a = fastbp.MLPRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=ours_rs)
            b = sk.MLPRegressor(hidden_layer_sizes=(6,), max_iter=3, random_state=theirs_rs)
            a.fit(X, y)
            b.fit(X, y)
            np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-9)
    assert ours_rs.randint(1 << 30) == theirs_rs.randint(1 << 30)


def test_network_random_state_none_draws_fresh_weights(global_rng):
    a, b = fastbp.Network([3, 4, 2]), fastbp.Network([3, 4, 2])
    assert not np.array_equal(a.params, b.params)
    np.random.seed(4)  # noqa: NPY002
    c = fastbp.Network([3, 4, 2])
    np.random.seed(4)  # noqa: NPY002
    np.testing.assert_array_equal(fastbp.Network([3, 4, 2]).params, c.params)


# ----- across processes, caches and thread counts -----


# Thread counts are the runs' own settings; the rest of the environment (which
# kernels OpenBLAS uses: OPENBLAS_CORETYPE) is this process's, so that the runs
# compute what this process does.
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS")


def run_fits(tmp_path, name, blas_rule=True, **env_vars):
    """This file's fits in a fresh interpreter; (arrays, runtime info).
    ``blas_rule=False``: without fastbp's one-BLAS-thread rule (see ``main``).
    ``env_vars``: set in the child's environment, or removed where None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_") and k not in THREADS}
    env.update({k: str(v) for k, v in env_vars.items() if v is not None})
    for k in [k for k, v in env_vars.items() if v is None]:
        env.pop(k, None)
    out = tmp_path / f"{name}.npz"
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); "
        f"import test_reproducible as t; t.main(sys.argv[1], blas_rule={blas_rule!r})"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays, json.loads(proc.stdout.strip().splitlines()[-1])


def cache_files(cache_dir):
    return {
        p: p.stat().st_mtime_ns for p in Path(cache_dir).rglob("*") if p.suffix in (".nbi", ".nbc")
    }


# OpenBLAS/OpenMP threads, with fastbp's one-thread rule off so that sgd and adam
# train on them too; against the default run (one BLAS thread per CPU, the rule on:
# sgd and adam on one thread, lbfgs's kernels on all). No NUMBA_NUM_THREADS here:
# no kernel runs on Numba's threads (the runs check that its pool never starts).
BLAS_THREADS = (1, 2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The fits in fresh interpreters: first with an empty Numba cache directory
    ("cold": everything compiles), then, with that cache ("warm"), once with the
    default threads and once per thread setting, two processes at a time."""
    cache = tmp_path_factory.mktemp("numba-cache")
    out = tmp_path_factory.mktemp("runs")
    assert not cache_files(cache)
    cold = run_fits(out, "cold", NUMBA_CACHE_DIR=cache)
    compiled = cache_files(cache)
    settings = {"warm": {}}
    kernels = thread_invariant_kernels()
    if (os.cpu_count() or 1) >= 2 and kernels is not None:
        for n in BLAS_THREADS:
            settings[n] = dict(blas_rule=False, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n)
            settings[n].update(kernels)

    def run(item):
        name, env = item
        return run_fits(out, f"blas-{name}", NUMBA_CACHE_DIR=cache, **env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        warm = dict(zip(settings, pool.map(run, settings.items())))
    return {"cache": cache, "compiled": compiled, "cold": cold, "kernels": kernels, **warm}


def thread_invariant_kernels():
    """Environment settings under which this machine's BLAS keeps its bits across
    thread counts: {} if this process's does, {"OPENBLAS_CORETYPE": None} if
    OpenBLAS's own choice of kernels does (checked in a child), else None."""
    if blas_thread_variation(BLAS_THREADS) is None:
        return {}
    if "OPENBLAS_CORETYPE" not in os.environ:
        return None
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_reproducible as t; "
    code += f"print(t.blas_thread_variation({BLAS_THREADS!r}) is None)"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"OPENBLAS_CORETYPE": None} if proc.stdout.strip() == "True" else None


@pytest.mark.slow
def test_same_bits_across_processes_with_the_cache_cold_or_warm(here_arrays, runs):
    (cold, cold_info), (warm, _) = runs["cold"], runs["warm"]
    assert cold_info["jit"] and Path(cold_info["cache_dir"]) == runs["cache"]
    assert runs["compiled"], "the cold run wrote no compiled kernels to its cache"
    assert cache_files(runs["cache"]) == runs["compiled"], "a warm run recompiled a kernel"
    assert_bitwise_equal(cold, here_arrays, "cold-cache process vs this process")
    assert_bitwise_equal(warm, cold, "warm-cache process vs cold-cache process")


@pytest.mark.slow
def test_same_bits_whatever_the_number_of_blas_threads(runs):
    needs_two_cpus()
    if runs["kernels"] is None:
        pytest.skip(f"no OpenBLAS kernels here keep their bits across threads: "
                    f"{blas_thread_variation(BLAS_THREADS)}")  # fmt: skip
    reference, info = runs["warm"]  # defaults: one BLAS thread per CPU, the rule on
    assert not info["numba_pool_started"]
    default = f"default BLAS threads {info['blas_threads']} (fits on {info['fit_blas_threads']})"
    if runs["kernels"]:
        # this process's kernels change bits with the thread count (blas_thread_variation):
        # the thread runs use OpenBLAS's own choice, so they are compared with each other
        reference, info = runs[BLAS_THREADS[0]]
        default = f"{BLAS_THREADS[0]} BLAS thread(s) with OpenBLAS's own choice of kernels"
    for n in BLAS_THREADS:
        arrays, info = runs[n]
        assert info["blas_threads"] == [n]  # numpy's and scipy's OpenBLAS
        assert info["fit_blas_threads"] == [n]  # inside every fit, sgd and adam too
        assert not info["numba_pool_started"]
        assert_bitwise_equal(arrays, reference, f"{n} BLAS threads in every fit vs {default}")


if __name__ == "__main__":
    main(sys.argv[1])
