"""fastbp.fit_many: each member equals, bit for bit, the same estimator fitted alone,
whatever ran beside it; members run in parallel where that cannot change them."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import fastbp
from fastbp import many

from helpers import model_state, state_differences

rng = np.random.RandomState(0)
X = rng.normal(size=(300, 6))
Y_REG = X[:, :2].sum(axis=1) + 0.1 * rng.normal(size=300)
Y_CLS = np.digitize(Y_REG, [-1.0, 1.0])
QUIET = dict(max_iter=15)


def members():
    """Sixteen estimators that differ in what fit_many must keep apart per member."""
    reg = fastbp.MLPRegressor(hidden_layer_sizes=(8,), **QUIET)
    cls = fastbp.MLPClassifier(hidden_layer_sizes=(8,), **QUIET)
    return [
        clone(reg).set_params(random_state=0, solver="sgd", learning_rate_init=0.01),
        clone(reg).set_params(random_state=1, solver="sgd", alpha=0.1, momentum=0.0),
        clone(reg).set_params(random_state=2, solver="sgd", learning_rate="invscaling"),
        clone(reg).set_params(random_state=3, solver="sgd", learning_rate="adaptive", tol=1e3),
        clone(reg).set_params(random_state=4, solver="adam", early_stopping=True),
        clone(reg).set_params(random_state=5, solver="adam", batch_size=7, shuffle=False),
        clone(reg).set_params(random_state=6, solver="adam", n_iter_no_change=2, tol=1e-2),
        clone(reg).set_params(random_state=7, solver="lbfgs"),
        clone(reg).set_params(random_state=8, hidden_layer_sizes=(3, 2), activation="tanh"),
        clone(reg).set_params(random_state=np.random.RandomState(9)),
        clone(reg).set_params(random_state=None),
        clone(cls).set_params(random_state=10, solver="sgd"),
        clone(cls).set_params(random_state=11, solver="adam", early_stopping=True),
        clone(cls).set_params(random_state=12, solver="lbfgs"),
        clone(cls).set_params(random_state=13, hidden_layer_sizes=(1, 2, 1), batch_size=1),
        clone(cls).set_params(random_state=14, activation="logistic", alpha=1e-2),
    ]


def fitted(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kwargs)


def targets(est):
    return Y_CLS if isinstance(est, fastbp.MLPClassifier) else Y_REG


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_each_member_equals_its_fit_alone(dtype, weighted):
    Xd = X.astype(dtype)
    sw = rng.uniform(0.5, 2.0, size=X.shape[0]) if weighted else None
    for kind in (fastbp.MLPRegressor, fastbp.MLPClassifier):
        group = [est for est in members() if isinstance(est, kind)]
        group = [est for est in group if est.random_state is not None]
        alone = [fitted(clone(est), Xd, targets(est), sample_weight=sw) for est in group]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fastbp.fit_many(group, Xd, targets(group[0]), sample_weight=sw)
        assert result == group and all(a is b for a, b in zip(result, group))
        for i, (a, b) in enumerate(zip(alone, result)):
            differ = state_differences(model_state(a), model_state(b))
            assert not differ, f"member {i} ({b}) differs in {differ}"


def test_members_sharing_a_generator_draw_in_order():
    """Two members drawing from one RandomState take its draws in the list's order,
    as a loop of fits would."""
    shared = np.random.RandomState(5)
    group = [
        fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=shared, **QUIET) for _ in range(3)
    ]
    loop_rng = np.random.RandomState(5)
    loop = [
        fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=loop_rng, **QUIET)
        for _ in range(3)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in loop:
            est.fit(X, Y_REG)
        fastbp.fit_many(group, X, Y_REG)
    for a, b in zip(loop, group):
        assert not state_differences(model_state(a), model_state(b))


def test_which_members_run_in_threads(monkeypatch):
    """Members whose fit cannot change beside another run in worker threads; the
    others on the calling thread (and so the comparison above compares parallel fits)."""
    where = {}
    real = fastbp.MLPRegressor.fit

    def fit(self, *args, **kwargs):
        where[id(self)] = threading.current_thread().name
        return real(self, *args, **kwargs)

    monkeypatch.setattr(fastbp.MLPRegressor, "fit", fit)
    shared = np.random.RandomState(0)
    big = dict(hidden_layer_sizes=(2048, 2048), batch_size=200)  # 200 * 2048**2 multiply-adds
    cases = {
        "int seed": (fastbp.MLPRegressor(random_state=1, **QUIET), True),
        "own RandomState": (fastbp.MLPRegressor(random_state=np.random.RandomState(1)), True),
        "shared RandomState 1": (fastbp.MLPRegressor(random_state=shared), False),
        "shared RandomState 2": (fastbp.MLPRegressor(random_state=shared), False),
        "global RandomState": (fastbp.MLPRegressor(random_state=None), False),
        "lbfgs": (fastbp.MLPRegressor(solver="lbfgs", random_state=1), False),
        "verbose": (fastbp.MLPRegressor(verbose=True, random_state=1), False),
        "products on BLAS threads": (fastbp.MLPRegressor(random_state=1, **big), False),
    }
    apart = many._fitted_apart([(est, X, Y_REG, None) for est, _ in cases.values()])
    assert {name: not a for name, a in zip(cases, apart)} == {
        name: threaded for name, (_, threaded) in cases.items()
    }
    group = [
        fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=k, max_iter=3) for k in range(4)
    ]
    group.append(fastbp.MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastbp.fit_many(group, X, Y_REG)
    names = [where[id(est)] for est in group]
    assert all(n.startswith("fastbp-fit-many") for n in names[:4]), names
    assert names[4] == threading.main_thread().name


def test_bad_members():
    with pytest.raises(TypeError, match="item 1 is LinearRegression"):
        from sklearn.linear_model import LinearRegression

        fastbp.fit_many([fastbp.MLPRegressor(), LinearRegression()], X, Y_REG)
    est = fastbp.MLPRegressor()
    with pytest.raises(ValueError, match="Items 0 and 2 of estimators are the same object"):
        fastbp.fit_many([est, fastbp.MLPRegressor(), est], X, Y_REG)
    assert not hasattr(est, "coefs_")


def test_a_failing_member_raises_its_error_and_the_others_are_whole():
    """The member whose fit failed is left as it was; every other one is either fitted,
    exactly as alone, or (not started when the error came) left as it was. More
    members than cores, each long enough that some wait when the error comes."""
    Xl = np.random.RandomState(1).normal(size=(3000, 6))
    yl = Xl[:, :2].sum(axis=1)
    long = dict(hidden_layer_sizes=(32,), max_iter=300, tol=0.0, n_iter_no_change=10**9)
    good = [fastbp.MLPRegressor(random_state=k, **long) for k in range(5)]
    bad = fitted(fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=9, max_iter=2), X, Y_REG)
    bad.set_params(alpha=-1.0)
    before = model_state(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="alpha"):
            fastbp.fit_many([good[0], bad, *good[1:]], Xl, yl)
    assert not state_differences(model_state(bad), before)
    assert hasattr(good[0], "coefs_")
    assert not all(hasattr(est, "coefs_") for est in good)  # (some were never started)
    for est in good:
        if hasattr(est, "coefs_"):
            alone = fitted(clone(est), Xl, yl)
            assert not state_differences(model_state(alone), model_state(est))
        else:
            assert est.__dict__ == clone(est).__dict__


def test_members_sharing_a_network_are_refused():
    import copy

    est = fitted(fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=0, max_iter=2), X, Y_REG)
    with pytest.raises(ValueError, match="share their fitted network"):
        fastbp.fit_many([est, copy.copy(est)], X, Y_REG)
    fastbp.fit_many([est, copy.deepcopy(est)], X, Y_REG)


def test_bad_data_raises_as_fit_does():
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fastbp.fit_many([fastbp.MLPRegressor(random_state=0)], np.full((5, 2), np.nan), [1] * 5)


def test_sklearn_configuration_reaches_the_workers():
    """scikit-learn's configuration is per thread: the workers get the caller's."""
    from sklearn import config_context

    Xnan = X.copy()
    Xnan[0, 0] = np.nan
    group = [
        fastbp.MLPRegressor(hidden_layer_sizes=(4,), random_state=k, max_iter=2) for k in range(2)
    ]
    with config_context(assume_finite=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # checked as fit checks it with the caller's settings: not at all here
        with pytest.raises(ValueError, match="non-finite"):
            fastbp.fit_many(group, Xnan, Y_REG)


CHILD = textwrap.dedent(
    """
    import pickle, sys, warnings
    import numpy as np
    import fastbp
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 10))
    y = X[:, :3].sum(axis=1)
    group = [fastbp.MLPRegressor(hidden_layer_sizes=(32,), random_state=k, max_iter=10**6, tol=0.0,
                                 n_iter_no_change=10**9) for k in range(4)]
    print("START", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fastbp.fit_many(group, X, y)
            how = "returned"
        except KeyboardInterrupt:
            how = "raised"
    with open(sys.argv[1], "wb") as f:
        pickle.dump((how, group), f)
    """
)


@pytest.mark.slow
def test_ctrl_c_stops_every_member_whole(tmp_path):
    """A real SIGINT: fit_many raises KeyboardInterrupt once the members being fitted
    stopped, each after whole epochs, exactly a fit of its n_iter_ epochs."""
    import pickle

    out = tmp_path / "out.pkl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout.readline().strip() == "START"
    import time

    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    how, group = pickle.loads(out.read_bytes())
    assert how == "raised"
    rng = np.random.RandomState(0)
    Xc = rng.normal(size=(4000, 10))
    yc = Xc[:, :3].sum(axis=1)
    trained = [est for est in group if hasattr(est, "coefs_")]
    assert len(trained) >= 2  # (both workers had started)
    for est in trained:
        assert est.n_iter_ >= 1 and len(est.loss_curve_) == est.n_iter_
        again = fastbp.MLPRegressor(
            hidden_layer_sizes=(32,), random_state=est.random_state, max_iter=est.n_iter_, tol=0.0,
            n_iter_no_change=10**9,
        )  # fmt: skip
        fitted(again, Xc, yc)
        differ = state_differences(model_state(again), model_state(est))
        assert not differ, differ
