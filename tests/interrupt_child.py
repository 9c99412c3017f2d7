"""Fits that a real SIGINT interrupts, run in a child process by test_interrupts.py.

    python interrupt_child.py MODE OUT

writes to OUT a pickled list of outcomes, one per fit: (config, how it ended, the
estimator, details). MODE says where the SIGINTs come from:

- ``random``: from the parent, at random moments. Each fit is announced with a
  line "START i" and trains until interrupted (no stopping rule can end it); the
  parent sends one SIGINT and waits for "END i".
- ``sweep``: from this process (``os.kill``), at the m-th line fastbp's Python code
  runs in the fit, for every m from the first line to past the last: every moment
  between two lines of the fit's bookkeeping, for short fits.
- ``assign``: from this process, at each line of a Network's weights assignment.
- ``spots``: from this process, at named moments: while the first epoch's kernel
  runs (from another thread, the kernel holding no GIL), during an early-stopping
  validation pass, during the third of a series of partial_fit calls, during an
  L-BFGS evaluation.
"""

import os
import pickle
import signal
import sys
import threading
import warnings

import numpy as np

import fastbp
from fastbp import Network
from fastbp._kernels import lbfgs

INTERRUPTED = "Training interrupted by user."
# Long fits: only Ctrl-C ends them.
ENDLESS = dict(max_iter=10**6, tol=0.0, n_iter_no_change=10**9)

CONFIGS = {
    "sgd": ("MLPRegressor", dict(solver="sgd", momentum=0.0, learning_rate_init=0.01)),
    "sgd-nesterov-invscaling": (
        "MLPRegressor",
        dict(solver="sgd", momentum=0.9, learning_rate="invscaling", learning_rate_init=0.05),
    ),
    "adam": ("MLPRegressor", dict(solver="adam", learning_rate_init=0.01)),
    "sgd-early-stopping": (
        "MLPRegressor",
        dict(solver="sgd", early_stopping=True, validation_fraction=0.4, learning_rate_init=0.01),
    ),
    "adam-early-stopping-classifier": (
        "MLPClassifier",
        dict(solver="adam", early_stopping=True, validation_fraction=0.4),
    ),
    "adam-classifier-partial-fit": ("MLPClassifier", dict(solver="adam")),
    "lbfgs": ("MLPRegressor", dict(solver="lbfgs")),
    # Without shuffling, a continuation can be one long fit (test_interrupts.py says why)
    "sgd-unshuffled": (
        "MLPRegressor",
        dict(solver="sgd", momentum=0.0, learning_rate_init=0.01, shuffle=False),
    ),
    "adam-unshuffled": ("MLPRegressor", dict(solver="adam", shuffle=False)),
    # every stop of the stopping rule divides the learning rate by 5 (tol: none improves)
    "sgd-adaptive": (
        "MLPRegressor",
        dict(solver="sgd", learning_rate="adaptive", tol=1e9, n_iter_no_change=1),
    ),
}
PARTIAL_FIT = ("adam-classifier-partial-fit",)
SEED = 3


def data(config, n_samples):
    """X and the config's targets: regression values or three classes."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_samples, 10))
    y = X[:, :3].sum(axis=1) + 0.1 * rng.normal(size=n_samples)
    if CONFIGS[config][0] == "MLPClassifier":
        y = np.digitize(y, [-1.0, 1.0])
    return X, y


def make(config, **overrides):
    """The config's estimator, drawing from a new RandomState(SEED): so that its draws
    go on across fits, as one generator's do, and a continuation draws what one long
    fit would have."""
    cls, params = CONFIGS[config]
    params = dict(hidden_layer_sizes=(16,), batch_size=32, **params)
    params.update(random_state=np.random.RandomState(SEED), **overrides)
    return getattr(fastbp, cls)(**params)


def fit(est, config, X, y, calls=None, announce=None):
    """fit, or ``calls`` partial_fit calls (until one is interrupted when None).
    Returns ("interrupted" | "returned" | "raised", partial_fit calls that returned).
    ``announce()`` is called just before the first call."""
    made = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if announce is not None:
                announce()
            if config not in PARTIAL_FIT:
                est.fit(X, y)
            else:
                while calls is None or made < calls:
                    est.partial_fit(X, y, classes=[0, 1, 2])
                    made += 1
                    if any(str(w.message) == INTERRUPTED for w in caught):
                        break
        except KeyboardInterrupt:
            return "raised", made
    if any(str(w.message) == INTERRUPTED for w in caught):
        return "interrupted", made
    return "returned", made


# The configs the parent interrupts at random (lbfgs, which may converge before the
# SIGINT comes, is interrupted in the sweep and at a spot).
RANDOM = [c for c in CONFIGS if c not in ("lbfgs", "sgd-adaptive")]


def run_random(out):
    """The parent sends one SIGINT after each "START i", then waits for "END i"; the
    fits never end by themselves, so the SIGINT lands inside ``fit``."""
    outcomes = []
    for i, config in enumerate(RANDOM * int(os.environ.get("ROUNDS", "1"))):
        X, y = data(config, 3000)
        est = make(config, **ENDLESS)
        how, calls = fit(est, config, X, y, announce=lambda i=i: print(f"START {i}", flush=True))
        outcomes.append((config, how, est, calls))
        print(f"END {i}", flush=True)
    return outcomes


class LineSignal:
    """A trace function that sends SIGINT to this process at the m-th line run in
    fastbp's own files."""

    ROOT = os.path.dirname(fastbp.__file__)

    def __init__(self, m):
        self.m, self.count = m, 0

    def __call__(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(self.ROOT):
            return None
        if event == "line":
            self.count += 1
            if self.count == self.m:
                os.kill(os.getpid(), signal.SIGINT)
        return self


SWEPT = {
    "sgd": dict(max_iter=3),
    "sgd-nesterov-invscaling": dict(max_iter=3),
    "adam": dict(max_iter=3),
    "sgd-early-stopping": dict(max_iter=3),
    "adam-early-stopping-classifier": dict(max_iter=3),
    "sgd-adaptive": dict(max_iter=6),
    "adam-classifier-partial-fit": dict(),
    "lbfgs": dict(max_iter=3),
}


def run_sweep(out):
    outcomes = []
    for config, params in SWEPT.items():
        X, y = data(config, 64)
        m = 0
        while True:
            m += 1
            est = make(config, **params)
            calls = None
            if config in PARTIAL_FIT:  # two calls made, the third one swept
                fit(est, config, X, y, calls=2)
                calls = 1
            tracer = LineSignal(m)
            sys.settrace(tracer)
            try:
                how, calls = fit(est, config, X, y, calls=calls)
            finally:
                sys.settrace(None)
            outcomes.append((config, how, est, (m, tracer.count >= m, calls)))
            if tracer.count < m:  # the fit ran fewer lines than m: all moments swept
                break
    return outcomes


# For each SIGINT sent from another thread: whether it was sent before the kernel
# it was meant for returned.
SENT_DURING_KERNEL = []


def signal_during(kernel, nth, wait=None, calls=None):
    """``kernel`` wrapped to send SIGINT at its ``nth`` call: from another thread
    after ``wait`` seconds, while the kernel runs (it holds no GIL), or before it
    starts when ``wait`` is None. ``calls``: a counter shared between kernels."""
    calls = [0] if calls is None else calls

    def wrapped(*args):
        calls[0] += 1
        if calls[0] != nth:
            return kernel(*args)
        if wait is None:
            os.kill(os.getpid(), signal.SIGINT)
            return kernel(*args)
        sent = threading.Event()

        def send():
            os.kill(os.getpid(), signal.SIGINT)
            sent.set()

        timer = threading.Timer(wait, send)
        timer.start()
        result = kernel(*args)
        SENT_DURING_KERNEL.append(sent.is_set())
        timer.join()
        return result

    return wrapped


def run_spots(out):
    """Each spot: (name, config, the fastbp kernel to spy on, which call, wait)."""
    outcomes = []
    spots = [
        # (a fit's first call of the kernel runs one epoch; the next ones, as many as
        # last ~20 ms: with early stopping, each with its validation pass)
        ("first epoch", "adam", "epoch", 1, 0.0005),
        ("first epoch", "sgd-early-stopping", "epoch", 1, 0.0005),
        ("third call", "sgd-nesterov-invscaling", "epoch", 3, 0.0005),
        ("validation pass", "sgd-early-stopping", "epoch", 2, 0.0005),
        ("validation pass", "adam-early-stopping-classifier", "epoch", 3, 0.0005),
        ("third partial_fit", "adam-classifier-partial-fit", "epoch", 3, 0.0005),
        ("lbfgs evaluation", "lbfgs", "lbfgs", 4, None),
    ]
    # a SIGINT sent from a thread that came only after the kernel: that spot again
    for spot, config, where, nth, wait in spots:
        for _ in range(5):
            outcome = run_spot(spot, config, where, nth, wait)
            if outcome[-1][-1] is not False:
                break
        outcomes.append(outcome)
    return outcomes


def run_spot(spot, config, where, nth, wait):
    """One fit with a SIGINT at a spot; (config, how it ended, the estimator,
    (spot, partial_fit calls made, whether a thread's SIGINT came during the kernel))."""
    real_epoch_kernel, real_lbfgs = Network._epoch_kernel, lbfgs.run_lbfgs
    X, y = data(config, 40000)
    est = make(config, **ENDLESS) if config != "lbfgs" else make(config, max_iter=200)
    if where == "epoch":
        epochs = [0]  # a kernel per fit or partial_fit call, the epochs counted across them

        def epoch_kernel(self, *args, **kwargs):
            return signal_during(real_epoch_kernel(self, *args, **kwargs), nth, wait, epochs)

        Network._epoch_kernel = epoch_kernel
    else:  # a call of the L-BFGS kernel, between its evaluations
        lbfgs.run_lbfgs = signal_during(real_lbfgs, nth)
    try:
        how, calls = fit(est, config, X, y)
    finally:
        Network._epoch_kernel, lbfgs.run_lbfgs = real_epoch_kernel, real_lbfgs
    during = SENT_DURING_KERNEL.pop() if wait is not None else None
    return config, how, est, (spot, calls, during)


def run_assign(out):
    """``net.coefs = [...]`` with a SIGINT at each line of fastbp's code it runs: the
    old params, the new ones, then (how it ended, the params) per line."""
    net = fastbp.Network([3, 4, 2], "tanh", random_state=0)
    old = net.params.copy()
    new_coefs = [np.full((3, 4), 0.5), np.full((4, 2), -0.5)]
    outcomes, m = [old, None], 0
    while True:
        m += 1
        net.params = old
        tracer = LineSignal(m)
        sys.settrace(tracer)
        try:
            net.coefs = new_coefs
            how = "returned"
        except KeyboardInterrupt:
            how = "raised"
        finally:
            sys.settrace(None)
        outcomes.append((how, net.params.copy()))
        if tracer.count < m:
            outcomes[1] = net.params.copy()  # the whole assignment, uninterrupted
            return outcomes


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    runs = {"random": run_random, "sweep": run_sweep, "spots": run_spots, "assign": run_assign}
    outcomes = runs[mode](out)
    with open(out, "wb") as f:
        pickle.dump(outcomes, f)
