"""Fits that behave: verbose output, progress bars, loss-curve plots, Ctrl-C,
thread-parallel fits, and the command line."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_backend
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastbp
from fastbp import MLPClassifier, MLPRegressor

from helpers import blas_threads, needs_two_cpus

rng = np.random.RandomState(0)
X = rng.randn(300, 5)
y = np.tanh(X @ rng.randn(5))


def test_verbose_prints_what_sklearn_prints(capsys):
    params = dict(hidden_layer_sizes=(4,), solver="sgd", max_iter=5, random_state=0,
                  verbose=True, early_stopping=True, learning_rate="adaptive")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.MLPRegressor(**params).fit(X, y)
        theirs = capsys.readouterr().out
        MLPRegressor(**params).fit(X, y)
        ours = capsys.readouterr().out
    assert "Iteration 1, loss = " in ours and "Validation score:" in ours
    assert ours == theirs


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_progress_bar(capsys, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=7, progress=True,
                     early_stopping=solver == "adam").fit(X, y)  # fmt: skip
    err = capsys.readouterr().err
    assert "MLPRegressor" in err and "loss=" in err
    assert ("7/7" in err) if solver == "adam" else ("/7" in err)
    if solver == "adam":
        assert "val=" in err
    MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)  # off by default
    assert "MLPRegressor" not in capsys.readouterr().err


def test_plot_loss_curve(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    est = MLPClassifier((5,), max_iter=20, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y > 0)
    assert len(est.validation_scores_) > 1 and est.validation_scores_ != est.loss_curve_

    def drawn(ax):
        # every curve on the figure, whichever axes it is on (the scores may be on a twin)
        return [list(line.get_ydata()) for a in ax.figure.axes for line in a.get_lines()]

    path = tmp_path / "curve.png"
    ax = fastbp.plot_loss_curve(est, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert len(ax.get_lines()) == 1 and list(ax.get_lines()[0].get_ydata()) == est.loss_curve_
    assert drawn(ax) == [est.loss_curve_, est.validation_scores_]
    import matplotlib.pyplot as plt

    fig, own = plt.subplots()
    assert fastbp.plot_loss_curve(est, ax=own) is own
    assert drawn(own) == [est.loss_curve_, est.validation_scores_]
    with pytest.raises(ValueError, match="loss_curve_"):
        fastbp.plot_loss_curve(MLPRegressor(solver="lbfgs", max_iter=3).fit(X, y))


CHILD = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np
    from fastbp import MLPRegressor
    rng = np.random.RandomState(0)
    X = rng.randn(20000, 20); y = np.tanh(X @ rng.randn(20))
    est = MLPRegressor(hidden_layer_sizes=(64, 64), solver="sgd", batch_size=8,
                       max_iter=10000, tol=0, n_iter_no_change=10**6, verbose=True,
                       random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    print("WARNINGS", [str(w.message) for w in caught])
    print("EPOCHS", est.n_iter_, len(est.loss_curve_))
    print("FINITE", bool(np.isfinite(est.predict(X[:50])).all()))
    """
)


@pytest.mark.slow
def test_ctrl_c_stops_within_an_epoch_and_keeps_the_model():
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # wait for two finished epochs, then press Ctrl-C
    seen, start = [], time.monotonic()
    while len([line for line in seen if line.startswith("Iteration")]) < 2:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        seen.append(line)
        assert time.monotonic() - start < 120
    epoch_started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    stopped_after = time.monotonic() - epoch_started
    assert proc.returncode == 0, err
    assert "Training interrupted by user." in out
    epochs = [line for line in seen + out.splitlines() if line.startswith("EPOCHS")][0].split()
    assert 2 <= int(epochs[1]) < 10000
    assert "FINITE True" in out
    # one epoch here takes ~1 s; the interrupt lands at the end of the running one
    assert stopped_after < 30


def fit_one(seed):
    est = MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", batch_size=32, max_iter=5,
                       random_state=seed, tol=0, n_iter_no_change=100)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y).coefs_[0].copy()


def test_thread_parallel_fits_equal_sequential_ones():
    sequential = [fit_one(s) for s in range(6)]
    with parallel_backend("threading", n_jobs=2):
        threaded = Parallel()(delayed(fit_one)(s) for s in range(6))
    for a, b in zip(sequential, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_overlapping_fits_in_threads_give_blas_its_threads_back():
    # Two worker-thread fits, one starting before the other ends and ending first
    # (forced with events inside the epoch kernel): while either runs, BLAS has one
    # thread; after both, as many as before. (Each restoring what it found had left
    # the process on one BLAS thread: the second in found the first's limit.)
    import threading

    from fastbp import Network

    needs_two_cpus()
    fit_one(0)  # loads SciPy's BLAS, compiles
    before = blas_threads()
    if min(before) == 1:
        pytest.skip(f"BLAS starts with {before} thread(s) (OPENBLAS_NUM_THREADS=1?)")
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    inside, real = [], Network._epoch_kernel

    def epoch_kernel(self, *args, **kwargs):
        kernel = real(self, *args, **kwargs)

        def run(*a):
            inside.append(blas_threads())
            if threading.current_thread().name == "first":
                first_in.set()
                assert second_in.wait(60)
            elif not first_out.is_set():
                second_in.set()
                assert first_out.wait(60)
            return kernel(*a)

        return run

    def fit(name):
        fit_one(0)
        if name == "first":
            first_out.set()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Network, "_epoch_kernel", epoch_kernel)
        first = threading.Thread(target=fit, args=("first",), name="first")
        first.start()
        assert first_in.wait(60)
        second = threading.Thread(target=fit, args=("second",), name="second")
        second.start()
        first.join(60)
        second.join(60)
    assert first_out.is_set() and not first.is_alive() and not second.is_alive()
    assert inside and all(t == [1] for t in inside), inside
    assert blas_threads() == before


def test_a_worker_fit_inside_a_users_blas_limit_restores_nothing_stale():
    # A fit in a worker thread starts while the main thread holds a threadpoolctl
    # limit of 1 (the user's, or lbfgs's before it shared fastbp's limit) and ends
    # after it: BLAS must end with the threads it had before both, not the 1 the
    # worker found when it came in.
    import threading

    from fastbp._threads import blas_controller, single_blas_thread_off_main

    needs_two_cpus()
    fit_one(0)  # loads SciPy's BLAS
    before = blas_threads()
    if min(before) == 1:
        pytest.skip(f"BLAS starts with {before} thread(s) (OPENBLAS_NUM_THREADS=1?)")
    entered, leave = threading.Event(), threading.Event()

    def worker():
        with single_blas_thread_off_main():  # what a fit in a worker thread does
            entered.set()
            assert leave.wait(60)

    thread = threading.Thread(target=worker)
    with blas_controller().limit(limits=1):
        thread.start()
        assert entered.wait(60)
    leave.set()
    thread.join(60)
    assert blas_threads() == before


def test_import_and_a_regressor_fit_leave_rarely_used_sklearn_parts_unloaded():
    # see fastbp/estimators.py's docstring; score, the classifier and early stopping load them
    code = textwrap.dedent("""
        import sys, warnings
        import numpy as np
        import fastbp
        lazy = ("sklearn.metrics", "sklearn.model_selection", "sklearn.preprocessing")
        X = np.random.RandomState(0).randn(40, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (two epochs: a ConvergenceWarning)
            est = fastbp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(X, X[:, 0])
        print("BEFORE", [m for m in lazy if m in sys.modules])
        est.score(X, X[:, 0])
        clf = fastbp.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, early_stopping=True)
        clf.fit(X, X[:, 0] > 0)
        print("AFTER", [m for m in lazy if m in sys.modules])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout  # fmt: skip
    assert "BEFORE []" in out
    assert "AFTER ['sklearn.metrics', 'sklearn.model_selection', 'sklearn.preprocessing']" in out


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "fastbp", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )  # fmt: skip


def test_cli_help_and_bad_arguments():
    out = run_cli("--help")
    assert out.returncode == 0 and "demo" in out.stdout and "bench" in out.stdout
    for sub in ("demo", "bench", "seeds"):
        res = run_cli(sub, "--help")
        assert res.returncode == 0 and "usage: fastbp " + sub in res.stdout
    bad = run_cli("nosuch")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "invalid choice" in bad.stderr
    bad = run_cli("demo", "--nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_cli_demo(tmp_path):
    png = tmp_path / "demo.png"
    res = run_cli("demo", "--quiet", "--png", str(png))
    assert res.returncode == 0, res.stderr
    assert "accuracy" in res.stdout and "R^2" in res.stdout and "speed-up" in res.stdout
    assert res.stdout.count("same weights as scikit-learn: True") == 2
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "hidden,batch,solver,threads",
    [
        ((128, 64), 64, "sgd", 1),
        ((256, 128), 128, "adam", None),
        ((128, 64), 64, "lbfgs", None),
        ((2,), 1, "sgd", None),
    ],
    ids=["small-products", "large-products", "lbfgs", "no-blas-products"],
)
def test_blas_threads_during_a_fit(monkeypatch, hidden, batch, solver, threads):
    # Minibatch fits whose products are all below BLAS_THREADS_MIN_FLOPS run with one
    # BLAS thread; larger ones, lbfgs, and those making no BLAS call (every product
    # below BLAS_MIN_FLOPS) keep BLAS's own (None: not limited).
    from fastbp import Network

    needs_two_cpus()
    MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).fit(np.zeros((3, 2)), np.zeros(3))
    before = blas_threads()
    assert before  # numpy's and scipy's BLAS are loaded by now
    # With BLAS on one thread already, a limit to one is invisible and every case passes.
    if min(before) == 1:
        pytest.skip(f"BLAS starts with {before} thread(s) (OPENBLAS_NUM_THREADS=1?)")
    seen = []
    real = Network._epoch_kernel

    def spy(self, *args, **kwargs):
        seen.append(blas_threads())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Network, "_epoch_kernel", spy)
    X = np.random.RandomState(0).randn(300, {256: 784, 128: 64, 2: 3}[hidden[0]])
    est = MLPRegressor(hidden_layer_sizes=hidden, solver=solver, batch_size=batch, max_iter=1)
    est.fit(X, np.zeros(300))
    # lbfgs runs no epochs (its threads: tests/test_reproducible.py)
    assert seen == ([] if solver == "lbfgs" else [[threads] if threads else before])
    assert blas_threads() == before
