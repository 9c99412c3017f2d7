"""Nothing lost when a fit stops early: Ctrl-C, a failed print or progress bar, a
diverged fit, bad input.

Ctrl-C: real SIGINTs to a child process (tests/interrupt_child.py) at random
moments, at every line of fastbp's Python code in short fits, and at named
moments (the first epoch's kernel, a call of epochs with their validation
passes, a series of partial_fit calls, a call of the L-BFGS kernel). An sgd or
adam fit stops after the epochs of the kernel call that was running (~20 ms of
them: fastbp/_kernels/fits.py) and holds exactly what a fresh fit of its ``n_iter_``
epochs holds (weights, optimizer, curves, stopping state, the generator's
draws); continuing it gives what one uninterrupted fit gives. A call that raises
(Ctrl-C in lbfgs or before the first epoch, any error) leaves the model as it was.
"""

import contextlib
import io
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fastbp
from fastbp import _progress

import interrupt_child as child
from helpers import assert_same_state, model_state, state_differences

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run_child(mode, tmp_path, drive=None, **env):
    """Run interrupt_child.py in ``mode``; ``drive(proc)`` talks to it. Its outcomes."""
    out = tmp_path / f"{mode}.pkl"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "interrupt_child.py"), mode, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        if drive is not None:
            drive(proc)
        _, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    with open(out, "rb") as f:
        return pickle.load(f)


class Expected:
    """Fresh fits of the child's configs, each made once: the state after ``epochs``
    epochs of fit, or after ``calls`` partial_fit calls."""

    def __init__(self, n_samples, **params):
        self.n_samples, self.params, self.cache = n_samples, params, {}

    def fitted(self, config, epochs=None, calls=None, **params):
        est = child.make(config, **{**self.params, **params})
        if epochs is not None:
            est.set_params(max_iter=epochs)
        X, y = child.data(config, self.n_samples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if config in child.PARTIAL_FIT:
                for _ in range(calls):
                    est.partial_fit(X, y, classes=[0, 1, 2])
            else:
                est.fit(X, y)
        return est

    def state(self, config, epochs=None, calls=None):
        key = (config, epochs, calls)
        if key not in self.cache:
            self.cache[key] = model_state(self.fitted(config, epochs, calls))
        return self.cache[key]

    def unfitted(self, config):
        return model_state(child.make(config, **self.params))


def check_interrupted(est, config, how, calls, expected):
    """An interrupted fit holds what a fresh fit of its epochs holds; one that raised,
    the state before the call."""
    if config in child.PARTIAL_FIT:
        # the calls that returned, the interrupted one included: its epoch is kept
        assert_same_state(est, expected.state(config, calls=calls), f"{how} after {calls} calls")
        return
    if how == "interrupted":
        assert est.n_iter_ >= 1
        assert_same_state(est, expected.state(config, epochs=est.n_iter_), f"{config}: epochs")
        return
    assert how == "raised", how
    assert_same_state(est, expected.unfitted(config), f"{config}: raised, not as before")


# ---------------------------------------------------------- SIGINTs at random moments ----


@pytest.mark.slow
def test_ctrl_c_at_random_moments_keeps_exactly_the_epochs_reported(tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    delays = []

    def drive(proc):
        for i in range(len(child.RANDOM) * 3):
            line = proc.stdout.readline()
            assert line == f"START {i}\n", (line, proc.stderr.read()[-3000:])
            # from the set-up before the first epoch to several epochs in
            delays.append(rng.uniform(0, 0.03))
            time.sleep(delays[-1])
            proc.send_signal(signal.SIGINT)
            assert proc.stdout.readline() == f"END {i}\n"

    outcomes = run_child("random", tmp_path, drive, ROUNDS="3")
    expected = Expected(3000, **child.ENDLESS)
    hows = []
    for (config, how, est, calls), delay in zip(outcomes, delays, strict=True):
        context = f"{config} after {delay * 1000:.1f} ms (seed {seed})"
        hows.append(how)
        assert how in ("interrupted", "raised"), context
        check_interrupted(est, config, how, calls, expected)
        if how == "interrupted":
            check_continuation(est, config, calls, expected)
    assert hows.count("interrupted") >= len(hows) // 2, (hows, seed)


def check_continuation(est, config, calls, expected):
    """Continuing an interrupted model goes on as continuing a fresh model of as many
    epochs does; and, where scikit-learn's continuations can, as one long fit.

    scikit-learn's warm_start fit starts a new optimizer, and each fit or partial_fit
    call shuffles anew from the row order 0..n-1 (one long fit shuffles the order of
    the epoch before) and re-splits for early stopping. So a continuation equals one
    long fit of as many epochs only without shuffling: by warm_start for sgd without
    momentum at a constant rate, by partial_fit (which carries the optimizer) for
    adam and momentum.
    """
    X, y = child.data(config, expected.n_samples)
    more = 3

    def go_on(model):
        if config in child.PARTIAL_FIT or config == "adam-unshuffled":
            for _ in range(more):
                model.partial_fit(X, y)
        else:
            model.set_params(warm_start=True, max_iter=more).fit(X, y)
        return model

    fresh = expected.fitted(config, calls=calls, epochs=None if calls else est.n_iter_)
    n = est.n_iter_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        go_on(est)
        go_on(fresh)
    assert_same_state(est, model_state(fresh), f"{config}: continued")
    if config not in ("sgd-unshuffled", "adam-unshuffled"):
        return
    whole = model_state(expected.fitted(config, epochs=n + more))
    now = model_state(est)
    keep = ["coefs_", "intercepts_", "loss_curve_", "t_", "best_loss_"]
    if config == "adam-unshuffled":
        keep += [k for k in whole if k.startswith("optimizer.")]
    differ = [k for k in keep if state_differences({k: now[k]}, {k: whole[k]})]
    assert not differ, f"{config}: continued vs one fit of {n + more} epochs: {differ}"


# ------------------------------------------------- a SIGINT at every line of a fit ----


@pytest.mark.slow
def test_ctrl_c_at_every_line_of_short_fits(tmp_path):
    outcomes = run_child("sweep", tmp_path)
    seen = {}
    for config, how, est, (m, sent, _) in outcomes:
        params = child.SWEPT[config]
        expected = seen.setdefault(config, Expected(64, **params))
        context = f"{config}, SIGINT at line {m}: {how}"
        if not sent:  # past the fit's last line: no SIGINT
            assert how == "returned", context
            state = expected.state(config, calls=3) if config in child.PARTIAL_FIT else None
            assert_same_state(est, state or expected.state(config), context)
            continue
        assert how != "returned", f"{context}: the SIGINT was lost"
        if how == "interrupted":
            assert config != "lbfgs"
            # two partial_fit calls were made before the swept one, which is kept
            state = (expected.state(config, calls=3) if config in child.PARTIAL_FIT
                     else expected.state(config, epochs=est.n_iter_))  # fmt: skip
            assert_same_state(est, state, context)
            continue
        # raised: as before the call, or, after the fit's last point, complete
        if config in child.PARTIAL_FIT:
            before, complete = expected.state(config, calls=2), expected.state(config, calls=3)
        else:
            before, complete = expected.unfitted(config), expected.state(config)
        now = model_state(est)
        assert not state_differences(now, before) or not state_differences(now, complete), context
    # every line of every config was swept
    assert {c for c, *_ in outcomes} == set(child.SWEPT)
    for config in child.SWEPT:
        hows = {how for c, how, *_ in outcomes if c == config}
        assert "raised" in hows
        assert ("interrupted" in hows) == (config != "lbfgs"), (config, hows)


# ------------------------------------------------------------- at named moments ----


@pytest.mark.slow
def test_ctrl_c_at_named_moments(tmp_path):
    outcomes = run_child("spots", tmp_path)
    expected = Expected(40000, **child.ENDLESS)
    spots = []
    for config, how, est, (spot, calls, during) in outcomes:
        spots.append(spot)
        assert during is not False, f"{spot}: the SIGINT came after the kernel, 5 times"
        if config == "lbfgs":  # raises, as scikit-learn's does, and changes nothing
            assert how == "raised"
            assert_same_state(est, model_state(child.make(config, max_iter=200)), spot)
            continue
        assert how == "interrupted", (spot, config, how)
        check_interrupted(est, config, how, calls, expected)
        if spot == "first epoch":
            assert est.n_iter_ == 1
        elif spot == "third call":
            assert est.n_iter_ >= 3
        elif spot == "third partial_fit":
            assert calls == 3
        elif spot == "validation pass":  # a call of epochs, each with its validation pass
            assert est.n_iter_ >= 2 and len(est.validation_scores_) == est.n_iter_
    assert "validation pass" in spots and "lbfgs evaluation" in spots


def test_the_interrupt_check_sees_an_epoch_too_many():
    """The bug this file guards against: weights one epoch ahead of what the model
    reports. check_interrupted tells it from the right state."""
    expected = Expected(64, max_iter=3)
    est = expected.fitted("adam", epochs=3)
    est.n_iter_, est.t_, est.loss_curve_ = 2, est.t_ - 64, est.loss_curve_[:2]
    with pytest.raises(AssertionError, match="differs in .*coefs_"):
        check_interrupted(est, "adam", "interrupted", None, expected)
    check_interrupted(expected.fitted("adam", epochs=2), "adam", "interrupted", None, expected)


# ------------------------------------------------------ the handler's own rules ----


def test_a_handler_the_user_installed_is_called_at_the_end_of_the_epochs():
    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        X, y = child.data("adam", 2000)
        est = child.make("adam", max_iter=4)
        real = fastbp.Network._epoch_kernel
        runs = []

        def epoch_kernel(self, *args, **kwargs):
            kernel = real(self, *args, **kwargs)

            def run(*a):
                runs.append(a)
                os.kill(os.getpid(), signal.SIGINT)  # held until the epochs are recorded
                return kernel(*a)

            return run

        fastbp.Network._epoch_kernel = epoch_kernel
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                est.fit(X, y)
        finally:
            fastbp.Network._epoch_kernel = real
        # the handler returned, so training went on: four epochs, a call after each
        # run of the kernel
        assert calls == [signal.SIGINT] * len(runs) and est.n_iter_ == 4 and len(runs) >= 2
        assert not any("interrupted" in str(w.message) for w in caught)
        assert signal.getsignal(signal.SIGINT) is handler  # put back
    finally:
        signal.signal(signal.SIGINT, previous)
    assert signal.getsignal(signal.SIGINT) is previous


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        X, y = child.data("adam", 300)
        est = child.make("adam", max_iter=3)
        real = fastbp.Network._epoch_kernel

        def epoch_kernel(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)  # ignored, as the user asked
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            return real(self, *args, **kwargs)

        fastbp.Network._epoch_kernel = epoch_kernel
        try:
            est.fit(X, y)
        finally:
            fastbp.Network._epoch_kernel = real
        assert est.n_iter_ == 3 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_nested_held_block_stops_and_tells_the_outer_one():
    from fastbp._interrupts import HeldInterrupt

    with HeldInterrupt() as outer:
        with HeldInterrupt() as inner:
            os.kill(os.getpid(), signal.SIGINT)
            assert inner.take()  # the inner one stops...
            assert not inner.take()
        assert outer.take()  # ...and the outer one, told, stops at its next point
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_sigint_is_delivered_when_the_block_raises():
    from fastbp._interrupts import HeldInterrupt

    calls = []

    def handler(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(ValueError, match="failed"):
            with HeldInterrupt():
                os.kill(os.getpid(), signal.SIGINT)
                assert calls == []  # held
                raise ValueError("the work failed")
        assert calls == [signal.SIGINT]  # delivered all the same
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fits_in_other_threads_leave_the_handler_alone():
    import threading

    seen = []
    real = fastbp.Network._epoch_kernel

    def epoch_kernel(self, *args, **kwargs):
        seen.append(signal.getsignal(signal.SIGINT))
        return real(self, *args, **kwargs)

    fastbp.Network._epoch_kernel = epoch_kernel
    try:
        X, y = child.data("adam", 200)
        worker = threading.Thread(target=child.make("adam", max_iter=2).fit, args=(X, y))
        worker.start()
        worker.join()
        child.make("adam", max_iter=2).fit(X, y)
    finally:
        fastbp.Network._epoch_kernel = real
    assert seen[0] is signal.default_int_handler  # the worker's fit
    assert seen[1].__self__.__class__.__name__ == "HeldInterrupt"  # the main thread's
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ------------------------------------- other ways a fit stops early: model as before ----


def _trained(config, **params):
    """A model two epochs in (warm_start set, so that a further fit goes on from it)."""
    X, y = child.data(config, 300)
    est = child.make(config, **{"max_iter": 2, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return est.set_params(warm_start=True), X, y


FAULT_CONFIGS = ["sgd", "adam", "sgd-early-stopping", "adam-early-stopping-classifier", "lbfgs"]


def _assert_unchanged(est, before, views):
    # (the generator passed as random_state too: a call that raises draws nothing)
    assert_same_state(est, before, "after the failed call")
    # the arrays the user may hold are still the model's
    assert all(a is b for a, b in zip(est.coefs_, views))


@pytest.mark.parametrize("config", FAULT_CONFIGS)
def test_a_progress_bar_that_fails_leaves_the_model_as_before(config, monkeypatch):
    est, X, y = _trained(config, max_iter=2)
    before, views = model_state(est), list(est.coefs_)
    updates = []

    def update(self, loss=None, validation=None):
        updates.append(loss)
        if len(updates) == 2:
            raise RuntimeError("the terminal went away")

    monkeypatch.setattr(_progress.EpochBar, "update", update)
    monkeypatch.setattr(_progress.EpochBar, "__init__", lambda self, *a: None)
    monkeypatch.setattr(_progress.EpochBar, "close", lambda self: None)
    with pytest.raises(RuntimeError, match="terminal"):
        est.set_params(progress=True, max_iter=5).fit(X, y)
    assert len(updates) == 2
    _assert_unchanged(est.set_params(progress=False, max_iter=2), before, views)


# (scipy's L-BFGS-B prints from C, not through sys.stdout)
@pytest.mark.parametrize("config", [c for c in FAULT_CONFIGS if c != "lbfgs"])
def test_a_closed_stdout_under_verbose_leaves_the_model_as_before(config):
    est, X, y = _trained(config)
    before, views = model_state(est), list(est.coefs_)
    closed = io.StringIO()
    closed.close()
    with contextlib.redirect_stdout(closed), pytest.raises(ValueError, match="closed file"):
        est.set_params(verbose=True, max_iter=5).fit(X, y)
    _assert_unchanged(est.set_params(verbose=False, max_iter=2), before, views)


@pytest.mark.parametrize("config", ["sgd", "sgd-early-stopping", "lbfgs"])
def test_a_diverging_fit_leaves_the_model_as_before(config):
    est, X, y = _trained(config)
    before, views = model_state(est), list(est.coefs_)
    with pytest.raises(ValueError, match="non-finite"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            est.set_params(learning_rate_init=1e6, max_iter=5).fit(X * 1e150, y * 1e300)
    _assert_unchanged(est.set_params(learning_rate_init=0.01, max_iter=2), before, views)


@pytest.mark.parametrize(
    "bad",
    ["features", "nan", "new class", "zero-weight batch", "early stopping"],
)
def test_a_failed_partial_fit_leaves_the_model_as_before(bad):
    config = "adam-classifier-partial-fit"
    X, y = child.data(config, 300)
    est = child.make(config)
    for _ in range(2):
        est.partial_fit(X, y, classes=[0, 1, 2])
    before, views = model_state(est), list(est.coefs_)
    kwargs = {}
    if bad == "features":
        X = X[:, :5]
    elif bad == "nan":
        X = X.copy()
        X[7, 3] = np.nan
    elif bad == "new class":
        y = np.where(y == 2, 3, y)
    elif bad == "zero-weight batch":  # scikit-learn's ZeroDivisionError
        kwargs["sample_weight"] = np.where(np.arange(len(y)) >= 10, 0.0, 1.0)
    else:
        est.set_params(early_stopping=True)
    with pytest.raises((ValueError, ZeroDivisionError)):
        est.partial_fit(X, y, **kwargs)
    _assert_unchanged(est.set_params(early_stopping=False), before, views)


def test_a_failed_first_partial_fit_leaves_an_unfitted_classifier():
    config = "adam-classifier-partial-fit"
    X, y = child.data(config, 300)
    est = child.make(config)
    before = model_state(est)
    with pytest.raises(ValueError):
        est.partial_fit(X[:, :0], y, classes=[0, 1, 2])
    assert_same_state(est, before, "first partial_fit")
    assert not hasattr(est, "classes_") and not hasattr(est, "_label_binarizer")


def test_a_failed_fresh_fit_keeps_the_previous_model():
    """Not in scikit-learn, which has re-initialised its model when such a fit fails."""
    est, X, y = _trained("adam")
    before, views = model_state(est), list(est.coefs_)
    with pytest.raises(ValueError):
        est.set_params(warm_start=False).fit(X, np.full(len(y), np.nan))
    _assert_unchanged(est, before, views)


def test_the_rollback_can_fail(monkeypatch):
    """Without the saved state put back, the failed fits above would differ."""
    from fastbp import _base

    monkeypatch.setattr(_base._SavedState, "restore", lambda self, est: None)
    est, X, y = _trained("adam")
    before = model_state(est)
    closed = io.StringIO()
    closed.close()
    with contextlib.redirect_stdout(closed), pytest.raises(ValueError):
        est.set_params(verbose=True, max_iter=5).fit(X, y)
    assert state_differences(model_state(est), before)


# ------------------------------------------------------------------- Network ----


def test_network_train_epoch_interrupted_is_undone(tmp_path):
    """A real SIGINT while the compiled epoch runs, in a child: KeyboardInterrupt, and
    the params as before the call."""
    code = """
import os, signal, sys, threading
import numpy as np
import fastbp
from fastbp._kernels import epochs
net = fastbp.Network([10, 64, 1], random_state=0)
X = np.random.RandomState(0).normal(size=(200000, 10)); y = X[:, 0]
net.train_epoch(X[:100], y[:100], batch_size=16)  # compiled
before = net.params.copy()
sent = threading.Event()
timer = threading.Timer(0.005, lambda: (os.kill(os.getpid(), signal.SIGINT), sent.set()))
kernel, started = epochs.run_epoch, []
def run_epoch(*args):
    timer.start()  # the SIGINT 5 ms into the kernel (an epoch here takes far longer);
    started.append(True)  # KeyboardInterrupt is raised as the kernel returns
    return kernel(*args)
net._kept_buffers.clear()  # (the kernel is picked again: the spy)
epochs.run_epoch = run_epoch
try:
    net.train_epoch(X, y, batch_size=16)
except KeyboardInterrupt:
    print("RAISED", started, sent.is_set(), np.array_equal(net.params, before))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["RAISED", "[True]", "True", "True"]


def test_network_weights_assigned_whole_or_not_at_all(tmp_path):
    """A real SIGINT at every line of ``net.coefs = [...]``, in a child: after the
    KeyboardInterrupt, the params are the old ones or all the new ones."""
    outcomes = run_child("assign", tmp_path)
    old, new, seen = outcomes[0], outcomes[1], set()
    for how, params in outcomes[2:]:
        assert np.array_equal(params, old) or np.array_equal(params, new), how
        seen.add((how, np.array_equal(params, new)))
    assert ("raised", False) in seen and ("returned", True) in seen
