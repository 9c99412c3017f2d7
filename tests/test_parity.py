"""fastbp's estimators against scikit-learn's: the same data and random_state
must give the same fitted model (float64: to ~1e-9 relative, the rest being
summation order; float32: to float32 rounding amplified over the epochs)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

import fastbp

import helpers

RTOL = {np.float64: 1e-9, np.float32: 2e-3}


def tolerance(dtype, params):
    """(rtol, atol). scikit-learn's L-BFGS runs in float64 even on float32 data
    (its coefs_ come out float64); fastbp's stays in float32, so the two
    trajectories part at float32 rounding level and are compared loosely."""
    if dtype == np.float32 and params.get("solver") == "lbfgs":
        return 2e-2, 1e-3
    return RTOL[dtype], RTOL[dtype] * 1e-3


def regression_data(n_outputs=1, n=120, dtype=np.float64, poisson=False, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    W = rng.normal(size=(5, n_outputs))
    y = np.tanh(X @ W) + 0.1 * rng.normal(size=(n, n_outputs))
    if poisson:
        y = rng.poisson(np.exp(0.5 * np.tanh(X @ W))).astype(float)
    y = y.ravel() if n_outputs == 1 else y
    return X.astype(dtype), y


def classification_data(kind, n=150, dtype=np.float64):
    if kind == "multilabel":
        X, y = make_multilabel_classification(n, 6, n_classes=3, random_state=0)
    else:
        n_classes = 2 if kind == "binary" else 3
        X, y = make_classification(n, 6, n_informative=4, n_classes=n_classes, random_state=0)
        if kind == "strings":
            y = np.array(["cat", "dog", "emu"])[y]
    return X.astype(dtype), y


def fit_both(cls_name, X, y, fit=lambda est, X, y: est.fit(X, y), **params):
    """Fit scikit-learn's and fastbp's estimator the same way; return both."""
    theirs = getattr(sk, cls_name)(**params)
    ours = getattr(fastbp, cls_name)(**params)
    with warnings.catch_warnings(record=True) as w_theirs:
        warnings.simplefilter("always")
        fit(theirs, X, y)
    with warnings.catch_warnings(record=True) as w_ours:
        warnings.simplefilter("always")
        fit(ours, X, y)
    assert [str(w.message) for w in w_ours] == [str(w.message) for w in w_theirs]
    return ours, theirs


def assert_same_model(ours, theirs, X, rtol, atol=None):
    helpers.assert_same_model(ours, theirs, X, rtol, atol, fitted=True)


STOCHASTIC = [
    dict(solver="sgd"),
    dict(solver="sgd", momentum=0.0),
    dict(solver="sgd", nesterovs_momentum=False),
    dict(solver="sgd", learning_rate="invscaling", power_t=0.3),
    dict(solver="sgd", learning_rate="adaptive", n_iter_no_change=2, tol=1e-2),
    dict(solver="sgd", early_stopping=True, n_iter_no_change=3),
    dict(solver="sgd", learning_rate="adaptive", early_stopping=True, n_iter_no_change=2),
    dict(solver="sgd", shuffle=False, batch_size=16),
    dict(solver="sgd", batch_size=7, alpha=0.1),
    dict(solver="adam"),
    dict(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6, learning_rate_init=0.01),
    dict(solver="adam", early_stopping=True, validation_fraction=0.2),
    dict(solver="lbfgs"),
    dict(solver="lbfgs", alpha=1.0, max_fun=30),
]
ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", STOCHASTIC, ids=repr)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor(params, n_outputs, dtype):
    X, y = regression_data(n_outputs, dtype=dtype)
    act = ACTIVATIONS[len(repr(params)) % 4]
    ours, theirs = fit_both(
        "MLPRegressor", X, y, hidden_layer_sizes=(6, 4), activation=act,
        random_state=3, max_iter=15, **params,
    )  # fmt: skip
    assert_same_model(ours, theirs, X, *tolerance(dtype, params))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_regressor_poisson(solver):
    X, y = regression_data(2, poisson=True)
    ours, theirs = fit_both(
        "MLPRegressor", X, y, loss="poisson", hidden_layer_sizes=(5,), solver=solver,
        random_state=0, max_iter=12, learning_rate_init=0.01,
    )  # fmt: skip
    assert_same_model(ours, theirs, X, 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", STOCHASTIC, ids=repr)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "strings"])
def test_classifier(kind, params, dtype):
    X, y = classification_data(kind, dtype=dtype)
    act = ACTIVATIONS[len(repr(params)) % 4]
    ours, theirs = fit_both(
        "MLPClassifier", X, y, hidden_layer_sizes=(7,), activation=act,
        random_state=5, max_iter=12, **params,
    )  # fmt: skip
    assert_same_model(ours, theirs, X, *tolerance(dtype, params))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("cls_name,kind", [("MLPRegressor", 2), ("MLPClassifier", "multiclass")])
def test_sample_weight(cls_name, kind, solver):
    X, y = regression_data(kind) if cls_name == "MLPRegressor" else classification_data(kind)
    sw = np.random.RandomState(0).uniform(0.1, 3, size=len(X))
    ours, theirs = fit_both(
        cls_name, X, y, fit=lambda est, X, y: est.fit(X, y, sample_weight=sw),
        hidden_layer_sizes=(6,), solver=solver, random_state=0, max_iter=10,
        early_stopping=solver == "adam",
    )  # fmt: skip
    assert_same_model(ours, theirs, X, 1e-9)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start(solver, early_stopping):
    X, y = classification_data("multiclass")

    def fit(est, X, y):
        est.fit(X, y)
        est.set_params(max_iter=6)
        est.fit(X, y)

    ours, theirs = fit_both(
        "MLPClassifier", X, y, fit=fit, warm_start=True, hidden_layer_sizes=(5,),
        solver=solver, random_state=1, max_iter=8,
        early_stopping=early_stopping and solver != "lbfgs",
    )  # fmt: skip
    assert_same_model(ours, theirs, X, 1e-9)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("cls_name", ["MLPRegressor", "MLPClassifier"])
def test_partial_fit(cls_name, solver):
    X, y = regression_data(1) if cls_name == "MLPRegressor" else classification_data("multiclass")
    sw = np.random.RandomState(0).uniform(0.5, 2, size=len(X))

    def fit(est, X, y):
        kw = {"classes": np.unique(y)} if cls_name == "MLPClassifier" else {}
        for start in range(0, len(X), 40):
            rows = slice(start, start + 40)
            est.partial_fit(X[rows], y[rows], sample_weight=sw[rows], **kw)
        est.partial_fit(X, y)

    ours, theirs = fit_both(
        cls_name, X, y, fit=fit, hidden_layer_sizes=(6,), solver=solver, random_state=2,
        learning_rate="invscaling" if solver == "sgd" else "constant",
    )  # fmt: skip
    assert_same_model(ours, theirs, X, 1e-9)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_sparse_input(fmt, solver):
    X, y = classification_data("binary")
    X[np.abs(X) < 0.8] = 0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    ours, theirs = fit_both(
        "MLPClassifier", Xs, y, hidden_layer_sizes=(6,), solver=solver, random_state=0,
        max_iter=10,
    )  # fmt: skip
    assert_same_model(ours, theirs, Xs, 1e-9)
    np.testing.assert_allclose(ours.predict_proba(Xs), ours.predict_proba(X), rtol=1e-12)


def test_divergence_raises_sklearns_error():
    X, y = regression_data(1)
    for est in (sk.MLPRegressor, fastbp.MLPRegressor):
        with pytest.raises(ValueError, match="non-finite parameter weights"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est(solver="sgd", learning_rate_init=1e6, max_iter=5, random_state=0).fit(
                    X, y * 1e3
                )
