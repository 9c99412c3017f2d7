"""Fit a grid of common configurations and print, as JSON, the kernels Numba compiled
meanwhile: the child process of tests/test_compile.py (and of the set-up's
measurements in bench/). Run as a script, in a fresh process:

    python tests/compile_grid.py [CONFIG ...]

prints {"compiled": ["module.kernel", ...], "events": n, "seconds": {config: fit
seconds}}: fastbp's kernels compiled, and the number of Numba's compilations (with
those of Numba's own functions compiled with them). With
no CONFIG, every one of ``CONFIGS``.
"""

import json
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from numba.core import event


def _data(dtype, n=60, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)).astype(dtype)
    return X, rng.integers(0, classes, n), rng.normal(size=n).astype(dtype)


def _read_only(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def _classifier(dtype, **params):
    from fastbp import MLPClassifier

    params = {"hidden_layer_sizes": (8,), "max_iter": 3, "random_state": 0, **params}

    def fit():
        X, labels, _ = _data(dtype)
        est = MLPClassifier(**params)
        est.fit(X, labels)
        est.predict(X)
        est.predict_proba(X)
        est.score(X, labels)

    return fit


def _regressor(dtype, transform=lambda X: X, **params):
    from fastbp import MLPRegressor

    def fit():
        X, _, y = _data(dtype)
        X = transform(X)
        est = MLPRegressor(hidden_layer_sizes=(8, 4), max_iter=3, random_state=0, **params)
        est.fit(X, y)
        est.predict(X)

    return fit


def _partial_fit(dtype):
    from fastbp import MLPClassifier

    def fit():
        X, labels, _ = _data(dtype)
        est = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
        est.partial_fit(X, labels, classes=[0, 1, 2])
        est.partial_fit(X, labels)
        est.predict_proba(X)

    return fit


def _network(dtype):
    from fastbp import Network

    def fit():
        X, _, y = _data(dtype)
        net = Network([5, 8, 1], dtype=dtype, random_state=0)
        net.forward(X)
        net.loss_gradient(X, y, sample_weight=np.ones(len(y)), alpha=1e-3)
        net.train_epoch(X, y, batch_size=16)
        net.train_epoch(_read_only(X), y, batch_size=4, order=np.arange(len(y))[::-1])

    return fit


def _seed(dtype):
    """The seeds' 1-2-1 network trained row by row, by Network and by MLPRegressor, as
    bench/'s seed case: kernels generated for it, compiled at set-up."""
    from fastbp import MLPRegressor, Network

    def fit():
        X, _, y = _data(dtype, features=1)
        net = Network([1, 2, 1], activation="softplus", dtype=dtype, random_state=0)
        net.train_epoch(X, y, batch_size=1)
        params = dict(solver="sgd", momentum=0, batch_size=1, activation="logistic")
        MLPRegressor(hidden_layer_sizes=(2,), max_iter=2, **params).fit(X, y)

    return fit


def _generated(dtype):
    """A network small enough for a kernel generated for its architecture
    (fastbp/_kernels/generated.py), not one the set-up compiles: compiled at its
    first fit."""
    from fastbp import Network

    def fit():
        X, _, y = _data(dtype, features=2)
        net = Network([2, 3, 1], activation="tanh", dtype=dtype, random_state=0)
        net.train_epoch(X, y, batch_size=1)

    return fit


CONFIGS = {}
for _dtype in (np.float64, np.float32):
    _t = np.dtype(_dtype).name
    CONFIGS.update(
        {
            f"adam {_t}": _classifier(_dtype),
            f"sgd momentum {_t}": _classifier(_dtype, solver="sgd"),
            f"sgd nesterov invscaling {_t}": _classifier(
                _dtype, solver="sgd", learning_rate="invscaling"
            ),
            f"plain sgd batch 1 {_t}": _classifier(
                _dtype, solver="sgd", momentum=0, batch_size=1, hidden_layer_sizes=(64,)
            ),
            f"lbfgs {_t}": _classifier(_dtype, solver="lbfgs"),
            f"early stopping {_t}": _classifier(_dtype, early_stopping=True),
            f"regressor early stopping {_t}": _regressor(_dtype, early_stopping=True),
            f"regressor adam {_t}": _regressor(_dtype),
            f"regressor sparse sgd {_t}": _regressor(_dtype, sp.csr_matrix, solver="sgd"),
            f"regressor read-only lbfgs {_t}": _regressor(_dtype, _read_only, solver="lbfgs"),
            f"partial_fit {_t}": _partial_fit(_dtype),
            f"Network {_t}": _network(_dtype),
            f"seed {_t}": _seed(_dtype),
        }
    )


def _generated_estimator():
    """A generated kernel's whole fits (float64): compiled at the first fit too."""
    from fastbp import MLPRegressor

    def fit():
        X, _, y = _data(np.float64, features=3)
        params = dict(solver="sgd", momentum=0, batch_size=1, activation="relu", max_iter=2)
        MLPRegressor(hidden_layer_sizes=(3,), **params).fit(X, y)

    return fit


GENERATED = {f"generated {np.dtype(t).name}": _generated(t) for t in (np.float64, np.float32)}
GENERATED["generated estimator"] = _generated_estimator()


def main(names):
    warnings.simplefilter("ignore")
    seconds = {}
    with event.install_recorder("numba:compile") as recorder:
        for name in names or CONFIGS:
            start = time.perf_counter()
            {**CONFIGS, **GENERATED}[name]()
            seconds[name] = time.perf_counter() - start
    events = [ev.data["dispatcher"] for _, ev in recorder.buffer if ev.is_start]
    funcs = [d.py_func for d in events if hasattr(d, "py_func")]
    compiled = [f"{f.__module__}.{f.__name__}" for f in funcs if f.__module__.startswith("fastbp.")]
    print(json.dumps({"compiled": compiled, "events": len(events), "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
