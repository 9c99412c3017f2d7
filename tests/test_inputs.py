"""Bad input: a clear error, nothing changed.

Every malformed input gets the error scikit-learn's own MLPRegressor/MLPClassifier
gives (same exception type; the same message where both come from the same
scikit-learn validation, otherwise the same key words); every input scikit-learn
accepts gives scikit-learn's model (coefs to 1e-9 relative in float64); no input
is ever modified. ``fastbp.Network`` answers every malformed input with a
ValueError that names the problem.
"""

import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.exceptions import NotFittedError

import fastbp
from fastbp import Network

import helpers

MODULES = {"fastbp": fastbp, "sk": sk}
KINDS = ["MLPRegressor", "MLPClassifier"]
REG, CLF = KINDS
SOLVERS = ["sgd", "adam", "lbfgs"]


# Three epochs never converge; the warnings are compared in test_parity.py.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def make_data(kind, n=30, p=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    if kind == REG:
        y = X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)
    else:
        y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.3)  # classes 0, 1, 2
    return X, y


def make(module, kind, **params):
    params = {"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0, **params}
    return getattr(MODULES[module], kind)(**params)


def run_both(kind, call, **params):
    """``call(estimator)`` for fastbp's and scikit-learn's; each result or exception."""
    results = {}
    for module in MODULES:
        est = make(module, kind, **params)
        try:
            results[module] = (call(est), est, None)
        except Exception as exc:  # noqa: BLE001 - compared below
            results[module] = (None, est, exc)
    return results["fastbp"], results["sk"]


def assert_same_error(kind, call, exact=True, keywords=(), **params):
    ours, theirs = run_both(kind, call, **params)
    assert theirs[2] is not None, "scikit-learn accepts this input: not an error case"
    assert ours[2] is not None, f"fastbp accepted what scikit-learn refuses: {theirs[2]!r}"
    assert type(ours[2]) is type(theirs[2]), (ours[2], theirs[2])
    if exact:
        assert str(ours[2]) == str(theirs[2])
    for word in keywords:
        assert word in str(ours[2]) and word in str(theirs[2]), (word, ours[2], theirs[2])
    return ours[2], theirs[2]


def assert_same_model(ours, theirs, X=None, rtol=1e-9):
    """The same weights and dtypes; the same labels, and values to 1e-12."""
    helpers.assert_same_model(ours, theirs, X, rtol, dtypes=True, predict_atol=1e-12, agreement=1)


def assert_same_fit(kind, fit, X_check=None, **params):
    ours, theirs = run_both(kind, fit, **params)
    assert theirs[2] is None, f"scikit-learn refuses this input: {theirs[2]!r}"
    assert ours[2] is None, f"fastbp refuses what scikit-learn accepts: {ours[2]!r}"
    assert_same_model(ours[1], theirs[1], X_check)
    return ours[1], theirs[1]


def with_value(X, value, at=(3, 1)):
    X = np.array(X, dtype=float)
    X[at] = value
    return X


def sparse_with(X, value):
    S = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    S.data[2] = value
    return S


# ----- errors of fit, compared with scikit-learn's -----

FIT_ERRORS = {
    "X NaN": lambda X, y: (with_value(X, np.nan), y),
    "X inf": lambda X, y: (with_value(X, np.inf), y),
    "X -inf": lambda X, y: (with_value(X, -np.inf), y),
    "X 0 rows": lambda X, y: (X[:0], y[:0]),
    "X 0 columns": lambda X, y: (X[:, :0], y),
    "X 3-D": lambda X, y: (X[:, :, None], y),
    "X 1-D": lambda X, y: (X[:, 0], y),
    "X None": lambda X, y: (None, y),
    "X complex": lambda X, y: (X + 1j, y),
    "X strings": lambda X, y: (np.full(X.shape, "a"), y),
    "X ragged list": lambda X, y: ([[1.0, 2.0], [3.0]] + X.tolist()[2:], y),
    "sparse X NaN": lambda X, y: (sparse_with(X, np.nan), y),
    "sparse X inf": lambda X, y: (sparse_with(X, np.inf), y),
    "sparse X 0 rows": lambda X, y: (sp.csr_matrix(X[:0]), y[:0]),
    "y NaN": lambda X, y: (X, with_value(y, np.nan, at=4)),
    "y inf": lambda X, y: (X, with_value(y, np.inf, at=4)),
    "y None": lambda X, y: (X, None),
    "y one row short": lambda X, y: (X, y[:-1]),
    "y one row long": lambda X, y: (X, np.r_[y, y[:1]]),
    "y column one row short": lambda X, y: (X, y[:-1, None]),
    "y 3-D": lambda X, y: (X, y[:, None, None]),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(FIT_ERRORS))
def test_fit_errors_are_sklearns(kind, case):
    X, y = FIT_ERRORS[case](*make_data(kind))
    assert_same_error(kind, lambda est: est.fit(X, y))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "case,weights",
    [
        ("NaN", lambda n: with_value(np.ones(n), np.nan, at=2)),
        ("inf", lambda n: with_value(np.ones(n), np.inf, at=2)),
        ("too short", lambda n: np.ones(n - 1)),
        ("2-D", lambda n: np.ones((n, 1))),
        ("all zero", lambda n: np.zeros(n)),
        ("strings", lambda n: np.full(n, "w")),
    ],
)
def test_sample_weight_errors_are_sklearns(kind, case, weights):
    X, y = make_data(kind)
    sw = weights(len(X))
    assert_same_error(kind, lambda est: est.fit(X, y, sample_weight=sw))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("batch_size,shuffle", [(1, True), (2, False), (5, False), (5, True)])
def test_weights_summing_to_zero_are_sklearns_zero_division_error(
    kind, solver, batch_size, shuffle
):
    # Negative weights are allowed (as in scikit-learn); weights cancelling out
    # over the data (lbfgs) or over a batch (sgd, adam) are numpy's
    # ZeroDivisionError in scikit-learn's np.average of the loss.
    X, y = make_data(kind)
    zero_head = np.r_[np.zeros(10), np.ones(len(X) - 10)]
    cancelling = np.r_[np.ones(15), -np.ones(15)]
    params = dict(solver=solver, batch_size=batch_size, shuffle=shuffle)
    for sw in (zero_head, cancelling):
        ours, theirs = run_both(kind, lambda est, sw=sw: est.fit(X, y, sample_weight=sw), **params)
        assert type(ours[2]) is type(theirs[2]) and str(ours[2]) == str(theirs[2]), (ours, theirs)
        if theirs[2] is None:
            assert_same_model(ours[1], theirs[1], X)
    assert_same_error(kind, lambda est: est.fit(X, y, sample_weight=cancelling), solver="lbfgs")


@pytest.mark.parametrize("class_weight", [{0: np.nan, 1: 1, 2: 1}, {0: -1.0, 1: 1, 2: 1},
                                          {0: np.inf, 1: 1, 2: 1}])  # fmt: skip
def test_non_finite_or_negative_class_weights_are_a_value_error(class_weight):
    X, y = make_data(CLF)
    est = make("fastbp", CLF, class_weight=class_weight)
    with pytest.raises(ValueError, match="class_weight must give every class a finite weight"):
        est.fit(X, y)
    # all zero: the weights sum to zero, as for sample_weight
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        make("fastbp", CLF, class_weight={0: 0.0, 1: 0.0, 2: 0.0}).fit(X, y)


@pytest.mark.parametrize("kind", KINDS)
def test_early_stopping_on_too_few_samples_is_sklearns_error(kind):
    X, y = make_data(kind)
    assert_same_error(kind, lambda est: est.fit(X[:1], y[:1]), early_stopping=True)
    # one validation sample: scikit-learn's "validation set is too small"
    assert_same_error(
        kind, lambda est: est.fit(X, y), early_stopping=True, validation_fraction=0.01
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("solver", SOLVERS)
def test_a_single_sample_fits_like_sklearn(kind, solver):
    X, y = make_data(kind)
    if kind == CLF:
        y = np.full_like(y, 2)  # one sample has one class
    assert_same_fit(kind, lambda est: est.fit(X[:1], y[:1]), X, solver=solver)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("label", [0, 7, "cat"])
def test_a_single_class_fits_like_sklearn(solver, label):
    X, _ = make_data(CLF)
    y = np.full(len(X), label, dtype=object if isinstance(label, str) else None)
    ours, _ = assert_same_fit(CLF, lambda est: est.fit(X, y), X, solver=solver)
    assert list(ours.classes_) == [label] and (ours.predict(X) == label).all()


def test_classifier_target_errors_are_sklearns():
    X, y = make_data(CLF)
    continuous = np.random.RandomState(0).normal(size=len(X))
    assert_same_error(CLF, lambda est: est.fit(X, continuous))  # "Unknown label type"
    # partial_fit: classes missing on the first call, or a class not among them
    assert_same_error(CLF, lambda est: est.partial_fit(X, y))
    assert_same_error(CLF, lambda est: est.partial_fit(X, y, classes=[0, 1]))
    assert_same_error(CLF, lambda est: est.partial_fit(X, y), solver="lbfgs")


@pytest.mark.parametrize(
    "y",
    [
        np.array(["a", "b", "c"] * 10, dtype=object),
        pd.Series(["a", "b", "c"] * 10),
        pd.Series(["a", "b", "c"] * 10, dtype="category"),
    ],
    ids=["object", "pandas-str", "pandas-category"],
)
def test_string_targets_for_the_regressor_are_sklearns_error(y):
    X, _ = make_data(REG)
    assert_same_error(REG, lambda est: est.fit(X, y))


@pytest.mark.parametrize("values", [["a", "b"], ["1.5", "2"], [b"a", b"b"]])
def test_numpy_string_targets_for_the_regressor_are_a_type_error(values):
    X, _ = make_data(REG)
    y = np.array(values * 15)
    (_, _, ours), (_, _, theirs) = run_both(REG, lambda est: est.fit(X, y))
    # scikit-learn's is numpy's UFuncTypeError (a private subclass of TypeError)
    # naming the dtype, from its loss; fastbp's is the same, never a silent fit of "1.5"
    name = str(y.dtype).lstrip("|")  # "<U1", "S1"
    assert isinstance(theirs, TypeError) and name in str(theirs)
    assert isinstance(ours, TypeError), repr(ours)
    assert type(ours) is type(theirs) and str(ours) == str(theirs)
    assert any("numeric targets" in note for note in ours.__notes__)  # shown in tracebacks


NON_NUMERIC_TARGETS = {
    "str": lambda n: np.array(["1.5", "2"] * (n // 2)),
    "bytes": lambda n: np.array([b"a", b"b"] * (n // 2)),
    "str 2-D": lambda n: np.array([["a", "b"]] * n),
    "datetime64": lambda n: np.arange(n).astype("M8[s]"),
    "timedelta64": lambda n: np.arange(n).astype("m8[s]"),
    "structured": lambda n: np.zeros(n, dtype=[("a", float)]),
}


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("target", sorted(NON_NUMERIC_TARGETS))
def test_non_numeric_targets_for_the_regressor_are_sklearns_error(target, solver, loss):
    X, _ = make_data(REG)
    y = NON_NUMERIC_TARGETS[target](len(X))
    assert_same_error(REG, lambda est: est.fit(X, y), solver=solver, loss=loss)
    assert_same_error(REG, lambda est: est.fit(X.astype(np.float32), y), solver=solver)
    if solver != "lbfgs":
        assert_same_error(REG, lambda est: est.partial_fit(X, y), solver=solver, loss=loss)
        # scikit-learn's checks before its first loss come first, as in scikit-learn
        bad_sw = np.ones(len(X) - 1)
        assert_same_error(REG, lambda est: est.fit(X, y, sample_weight=bad_sw), solver=solver)
        assert_same_error(REG, lambda est: est.partial_fit(X, y), early_stopping=True)
        assert_same_error(
            REG, lambda est: est.fit(X, y), early_stopping=True, validation_fraction=0.01
        )
        assert_same_error(REG, lambda est: est.fit(X, y), early_stopping=True)


# ----- degenerate but valid data: scikit-learn's model, promptly -----

DEGENERATE = {
    "constant X": lambda X, y: (np.ones_like(X), y),
    "zero X": lambda X, y: (np.zeros_like(X), y),
    "subnormal X": lambda X, y: (X * 1e-310, y),  # slow arithmetic on most CPUs
    "one feature": lambda X, y: (X[:, :1], y),
    "duplicated rows": lambda X, y: (np.repeat(X[:2], len(X) // 2, axis=0), np.repeat(y[:2], 15)),
    "constant y": lambda X, y: (X, np.full_like(y, y[0])),
    "tiny X": lambda X, y: (X * 1e-150, y),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_data_gives_sklearns_model_promptly(case, kind, solver):
    X, y = DEGENERATE[case](*make_data(kind))
    if kind == CLF and case == "constant y":
        y = np.full_like(y, 1)
    start = time.perf_counter()
    # 20 iterations: beyond, L-BFGS on the flat one-feature problem amplifies
    # last-bit differences past 1e-9 (1.9e-9 absolute after 50), in either library
    ours, _ = assert_same_fit(
        kind, lambda est: est.fit(X, y), X, solver=solver, max_iter=20, early_stopping=False
    )
    assert time.perf_counter() - start < 60  # both fits: no hang, whatever the data
    assert all(np.isfinite(c).all() for c in ours.coefs_ + ours.intercepts_)


# ----- errors of predict, score and partial_fit -----

PREDICT_ERRORS = {
    "fewer features": lambda X: X[:, :3],
    "more features": lambda X: np.c_[X, X[:, :1]],
    "0 features": lambda X: X[:, :0],
    "0 rows": lambda X: X[:0],
    "NaN": lambda X: with_value(X, np.nan),
    "inf": lambda X: with_value(X, np.inf),
    "3-D": lambda X: X[:, :, None],
    "1-D": lambda X: X[0],
    "sparse, fewer features": lambda X: sp.csr_matrix(X[:, :3]),
    "strings": lambda X: np.full(X.shape, "a"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
@pytest.mark.parametrize("case", sorted(PREDICT_ERRORS))
def test_predict_errors_are_sklearns(kind, method, case):
    if method == "predict_proba" and kind == REG:
        pytest.skip("regressors have no predict_proba")
    X, y = make_data(kind)
    bad = PREDICT_ERRORS[case](X)
    args = (bad, y) if method == "score" else (bad,)
    assert_same_error(kind, lambda est: getattr(est.fit(X, y), method)(*args))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_predict_before_fit_is_not_fitted_error(kind, method):
    if method == "predict_proba" and kind == REG:
        pytest.skip("regressors have no predict_proba")
    X, y = make_data(kind)
    args = (X, y) if method == "score" else (X,)
    ours, _ = assert_same_error(kind, lambda est: getattr(est, method)(*args))
    assert isinstance(ours, NotFittedError)


@pytest.mark.parametrize("kind", KINDS)
def test_score_and_partial_fit_errors_are_sklearns(kind):
    X, y = make_data(kind)
    classes = {"classes": np.unique(y)} if kind == CLF else {}
    assert_same_error(kind, lambda est: est.fit(X, y).score(X, y[:-1]))
    assert_same_error(kind, lambda est: est.fit(X, y).score(X, y, sample_weight=np.ones(3)))
    first = lambda est: est.partial_fit(X, y, **classes)  # noqa: E731
    assert_same_error(kind, lambda est: first(est).partial_fit(X[:, :3], y))
    assert_same_error(kind, lambda est: first(est).partial_fit(with_value(X, np.nan), y))
    assert_same_error(kind, lambda est: first(est).partial_fit(X, y[:-1]))
    assert_same_error(kind, lambda est: est.partial_fit(X, y, **classes), early_stopping=True)
    # warm start on other features: scikit-learn's feature-count error
    assert_same_error(kind, lambda est: est.fit(X, y).fit(X[:, :3], y), warm_start=True)


# ----- invalid hyperparameters -----


def choices(message):
    """The names listed in an InvalidParameterError's "a str among {...}"."""
    found = re.search(r"among \{([^}]*)\}", message)
    return set(re.findall(r"'([^']*)'", found.group(1))) if found else set()


BAD_PARAMS = [
    dict(alpha=-1.0),
    dict(alpha=-1e-12),
    dict(alpha=np.nan),
    dict(alpha="big"),
    dict(hidden_layer_sizes=(0,)),
    dict(hidden_layer_sizes=(-1,)),
    dict(hidden_layer_sizes=(5, 0)),
    dict(hidden_layer_sizes=0),
    dict(hidden_layer_sizes=-3),
    dict(hidden_layer_sizes=None),
    dict(hidden_layer_sizes="wide"),
    dict(activation="swish"),
    dict(activation="softmax"),
    dict(activation=None),
    dict(solver="newton"),
    dict(learning_rate="cyclic"),
    dict(batch_size=0),
    dict(batch_size=-5),
    dict(batch_size=2.5),
    dict(batch_size="all"),
    dict(validation_fraction=-0.1),
    dict(validation_fraction=1.0),
    dict(validation_fraction=1.5),
    dict(validation_fraction=np.nan),
    dict(validation_fraction=0.0, early_stopping=True),
    dict(learning_rate_init=0.0),
    dict(max_iter=0),
    dict(momentum=1.5),
    dict(beta_1=1.0),
    dict(epsilon=0.0),
    dict(n_iter_no_change=0),
    dict(tol=-1.0),
    dict(max_fun=0),
    dict(shuffle="yes"),
    dict(random_state="seed"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("params", BAD_PARAMS, ids=repr)
def test_invalid_hyperparameters_are_sklearns_errors(kind, params):
    X, y = make_data(kind)
    ours, theirs = assert_same_error(kind, lambda est: est.fit(X, y), exact=False, **params)
    a, b = str(ours), str(theirs)
    if not choices(b):
        assert a == b
        return
    # The choices come from a set, listed in hash order, and fastbp's activation
    # takes two more: compare what is named, what was given, and the choices.
    assert a.split(" must ")[0] == b.split(" must ")[0]
    assert a.split(". Got ")[-1] == b.split(". Got ")[-1]
    if "activation" in params:
        assert choices(a) == choices(b) | {"softplus", "leaky_relu"}
    else:
        assert choices(a) == choices(b)


def test_unknown_loss_for_the_regressor():
    X, y = make_data(REG)
    ours, theirs = assert_same_error(REG, lambda est: est.fit(X, y), exact=False, loss="hinge")
    assert choices(str(ours)) == choices(str(theirs)) == {"squared_error", "poisson"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sizes", [(), [3, 2], np.array([3, 2]), (np.int32(3),)], ids=repr)
def test_hidden_layer_size_forms_sklearn_accepts(kind, sizes):
    X, y = make_data(kind)
    assert_same_fit(kind, lambda est: est.fit(X, y), X, hidden_layer_sizes=sizes)


NON_INTEGER_SIZES = [
    (2.5,),
    (2.0,),
    [3, 2.5],
    np.array([2.0]),
    (np.float32(3),),
    (True,),
    (3, np.True_),
    (1 + 0j,),
    (np.array([3]),),
    (2**70,),
]


@pytest.mark.parametrize("kind", KINDS)
# scikit-learn casts a complex size to real, with numpy's warning, before it fails
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("sizes", NON_INTEGER_SIZES, ids=repr)
def test_non_integer_hidden_layer_sizes_are_sklearns_error(kind, sizes):
    # numpy's errors for the shape of the weights scikit-learn draws: never truncated
    X, y = make_data(kind)
    ours, _ = assert_same_error(kind, lambda est: est.fit(X, y), hidden_layer_sizes=sizes)
    if sizes != (2**70,):  # that one is numpy's "Maximum allowed dimension exceeded"
        assert isinstance(ours, TypeError) and "integer" in str(ours)
    # the model's own validation still comes first, as in scikit-learn
    assert_same_error(kind, lambda est: est.fit(X[:, :, None], y), hidden_layer_sizes=sizes)


# ----- every layout, dtype and container scikit-learn takes: its model -----


def memmap(a, tmp_path, name):
    path = tmp_path / f"{name}.dat"
    out = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
    out[...] = a
    out.flush()
    del out
    return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)


X_FORMS = {
    "int64": lambda X, tmp: np.round(X * 10).astype(np.int64),
    "int32": lambda X, tmp: np.round(X * 10).astype(np.int32),
    "uint8": lambda X, tmp: np.round(np.abs(X) * 10).astype(np.uint8),
    "bool": lambda X, tmp: X > 0,
    "float16": lambda X, tmp: X.astype(np.float16),
    "big-endian f8": lambda X, tmp: X.astype(">f8"),
    "big-endian f4": lambda X, tmp: X.astype(">f4"),
    "big-endian i8": lambda X, tmp: np.round(X * 10).astype(">i8"),
    "Fortran": lambda X, tmp: np.asfortranarray(X),
    "non-contiguous": lambda X, tmp: np.repeat(X, 2, axis=1)[:, ::2],
    "read-only memmap": lambda X, tmp: memmap(X, tmp, "X"),
    "read-only memmap big-endian": lambda X, tmp: memmap(X.astype(">f8"), tmp, "Xbe"),
    "list": lambda X, tmp: X.tolist(),
    "tuple of tuples": lambda X, tmp: tuple(map(tuple, X)),
    "DataFrame": lambda X, tmp: pd.DataFrame(X),
    "DataFrame named": lambda X, tmp: pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]),
    "DataFrame int and float": lambda X, tmp: pd.DataFrame(
        {f"f{i}": np.round(X[:, i] * 10).astype(int) if i % 2 else X[:, i] for i in range(5)}
    ),
    "DataFrame Float64": lambda X, tmp: pd.DataFrame(X).astype("Float64"),
    "csr": lambda X, tmp: sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)),
    "csc": lambda X, tmp: sp.csc_matrix(np.where(np.abs(X) > 0.5, X, 0.0)),
    "coo": lambda X, tmp: sp.coo_matrix(np.where(np.abs(X) > 0.5, X, 0.0)),
    "csr_array": lambda X, tmp: sp.csr_array(np.where(np.abs(X) > 0.5, X, 0.0)),
    "csr int": lambda X, tmp: sp.csr_matrix(np.round(X * 10).astype(np.int64)),
    "csr unsorted, duplicates": lambda X, tmp: messy_csr(X),
}


def messy_csr(X):
    """CSR with unsorted column indices and duplicate entries (summed by scipy)."""
    n, p = X.shape
    cols = np.tile(np.r_[np.arange(p)[::-1], 0], n)
    vals = np.c_[X[:, ::-1], np.ones(n)].ravel()
    indptr = np.arange(0, n * (p + 1) + 1, p + 1)
    S = sp.csr_matrix((vals, cols, indptr), shape=(n, p))
    assert not S.has_canonical_format
    return S


Y_FORMS = {
    "int64": lambda y, tmp: y.astype(np.int64),
    "bool": lambda y, tmp: y > y.mean(),
    "float16": lambda y, tmp: y.astype(np.float16),
    "float32": lambda y, tmp: y.astype(np.float32),
    "big-endian": lambda y, tmp: y.astype(">f8") if y.dtype.kind == "f" else y.astype(">i8"),
    "non-contiguous": lambda y, tmp: np.repeat(y, 2)[::2],
    "column": lambda y, tmp: y[:, None],
    "read-only memmap": lambda y, tmp: memmap(y, tmp, "y"),
    "list": lambda y, tmp: y.tolist(),
    "Series": lambda y, tmp: pd.Series(y),
    "Series named": lambda y, tmp: pd.Series(y, name="target"),
    "Series nullable": lambda y, tmp: pd.Series(y).astype(
        "Float64" if y.dtype.kind == "f" else "Int64"
    ),
    "DataFrame column": lambda y, tmp: pd.DataFrame({"t": y}),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", sorted(X_FORMS))
def test_every_X_form_sklearn_takes_gives_its_model(form, kind, solver, tmp_path):
    X, y = make_data(kind)
    Xf = X_FORMS[form](X, tmp_path)
    ours, theirs = assert_same_fit(kind, lambda est: est.fit(Xf, y), solver=solver)
    assert_same_model(ours, theirs, Xf)  # predict on the same form
    assert ours.coefs_[0].dtype == np.float64  # none of these is float32 once validated


# a column of y: scikit-learn's DataConversionWarning, in both (compared in test_parity)
@pytest.mark.filterwarnings("ignore:A column-vector y was passed")
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", sorted(Y_FORMS))
def test_every_y_form_sklearn_takes_gives_its_model(form, kind, solver, tmp_path):
    X, y = make_data(kind)
    yf = Y_FORMS[form](y, tmp_path)
    assert_same_fit(kind, lambda est: est.fit(X, yf), X, solver=solver)


@pytest.mark.parametrize("kind", KINDS)
def test_float32_X_stays_float32_and_matches_sklearn(kind):
    X, y = make_data(kind)
    for X32 in (X.astype(np.float32), pd.DataFrame(X.astype(np.float32))):
        ours, theirs = run_both(kind, lambda est, X32=X32: est.fit(X32, y), solver="sgd")
        assert ours[1].coefs_[0].dtype == theirs[1].coefs_[0].dtype == np.float32
        assert_same_model(ours[1], theirs[1], X32, rtol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_weight_forms_give_sklearns_model(kind, tmp_path):
    X, y = make_data(kind)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    for form in (sw.astype(">f8"), memmap(sw, tmp_path, "sw"), sw.tolist(), pd.Series(sw)):
        assert_same_fit(kind, lambda est, w=form: est.fit(X, y, sample_weight=w), X)
    assert_same_fit(kind, lambda est: est.fit(X, y, sample_weight=np.r_[np.zeros(5), sw[5:]]))


# ----- inputs are never modified -----


def read_only(*arrays):
    out = []
    for a in arrays:
        a = np.array(a)
        a.setflags(write=False)
        out.append(a)
    return out


def every_call(est, X, y, sw, kind, solver):
    """fit, partial_fit, predict, predict_proba and score, with sample weights."""
    if solver != "lbfgs":
        extra = {"classes": np.unique(y)} if kind == CLF else {}
        # (partial_fit refuses early_stopping, in scikit-learn too)
        online = make("fastbp", kind, **{**est.get_params(), "early_stopping": False})
        online.partial_fit(X, y, sample_weight=sw, **extra).partial_fit(X, y, sample_weight=sw)
    est.fit(X, y, sample_weight=sw)
    est.predict(X)
    if kind == CLF:
        est.predict_proba(X)
        est.predict_log_proba(X)
    est.score(X, y, sample_weight=sw)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
def test_inputs_are_never_modified(kind, solver, early_stopping):
    X, y = make_data(kind)
    sw = np.random.RandomState(2).uniform(0.5, 2.0, len(X))
    copies = [a.copy() for a in (X, y, sw)]
    X, y, sw = read_only(X, y, sw)  # a write would raise
    params = dict(solver=solver, early_stopping=early_stopping)
    if kind == CLF:
        params["class_weight"] = {0: 2.0, 1: 1.0, 2: 0.5}
    est = make("fastbp", kind, **params)
    every_call(est, X, y, sw, kind, solver)
    # and writable arrays come back unchanged too
    X, y, sw = (a.copy() for a in copies)
    every_call(make("fastbp", kind, **params), X, y, sw, kind, solver)
    for a, c in zip((X, y, sw), copies):
        np.testing.assert_array_equal(a, c)
        assert a.dtype == c.dtype and a.flags.c_contiguous


@pytest.mark.parametrize("kind", KINDS)
def test_layouts_and_containers_are_never_modified(kind, tmp_path):
    X, y = make_data(kind)
    sw = np.random.RandomState(2).uniform(0.5, 2.0, len(X))
    forms = [
        (np.asfortranarray(X), y.astype(">f8") if kind == REG else y, sw.astype(">f8")),
        (memmap(X, tmp_path, "X"), memmap(y, tmp_path, "y"), memmap(sw, tmp_path, "sw")),
        (np.repeat(X, 2, axis=0)[::2], np.repeat(y, 2)[::2], np.repeat(sw, 2)[::2]),
    ]
    for solver in SOLVERS:
        for Xf, yf, swf in forms:
            copies = [np.array(a, copy=True) for a in (Xf, yf, swf)]
            every_call(make("fastbp", kind, solver=solver), Xf, yf, swf, kind, solver)
            for a, c in zip((Xf, yf, swf), copies):
                np.testing.assert_array_equal(a, c)
                assert a.dtype == c.dtype
        df, s, w = pd.DataFrame(X, columns=list("abcde")), pd.Series(y), pd.Series(sw)
        df_copy, s_copy, w_copy = df.copy(), s.copy(), w.copy()
        every_call(make("fastbp", kind, solver=solver), df, s, w, kind, solver)
        pd.testing.assert_frame_equal(df, df_copy)
        pd.testing.assert_series_equal(s, s_copy)
        pd.testing.assert_series_equal(w, w_copy)


@pytest.mark.parametrize("fmt", ["csr", "csc", "messy"])
@pytest.mark.parametrize("kind", KINDS)
def test_sparse_input_is_never_modified(kind, fmt):
    X, y = make_data(kind)
    S = messy_csr(X) if fmt == "messy" else sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    if fmt == "csc":
        S = S.tocsc()
    parts = [S.data.copy(), S.indices.copy(), S.indptr.copy()]
    for a in (S.data, S.indices, S.indptr):
        a.setflags(write=False)
    for solver in SOLVERS:
        every_call(make("fastbp", kind, solver=solver), S, y, None, kind, solver)
    for a, c in zip((S.data, S.indices, S.indptr), parts):
        np.testing.assert_array_equal(a, c)
    assert S.format == ("csc" if fmt == "csc" else "csr")


def corrupt(S, what):
    """S with inconsistent index arrays, set behind scipy's back."""
    data, indices, indptr = S.data.copy(), S.indices.copy(), S.indptr.copy()
    if what == "index too large":
        indices[3] = S.shape[1 if S.format == "csr" else 0] + 1000
    elif what == "negative index":
        indices[3] = -7
    elif what == "indptr decreasing":
        indptr[2] = indptr[4]
    elif what == "indptr beyond the data":
        indptr[-1] = len(data) + 100
    M = type(S)(S.shape)
    M.data, M.indices, M.indptr = data, indices, indptr
    return M


CORRUPTIONS = ["index too large", "negative index", "indptr decreasing", "indptr beyond the data"]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("what", CORRUPTIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_corrupted_sparse_structure_is_a_value_error_not_a_crash(kind, what, fmt):
    # scikit-learn's MLP reads such matrices unchecked: garbage, NaN, or a
    # segmentation fault ("indptr beyond the data"); fastbp runs scipy's check
    X, y = make_data(kind)
    S = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    bad = corrupt(S, what)
    message = "indices must be|indptr must be|index pointer"
    extra = {"classes": np.unique(y)} if kind == CLF else {}
    for call in (
        lambda est: est.fit(bad, y),
        lambda est: est.partial_fit(bad, y, **extra),
        lambda est: est.fit(S, y).predict(bad),
        lambda est: est.fit(S, y).score(bad, y),
    ):
        with pytest.raises(ValueError, match=message):
            call(make("fastbp", kind))
    if kind == CLF:
        with pytest.raises(ValueError, match=message):
            make("fastbp", kind).fit(S, y).predict_proba(bad)


# ----- fastbp.Network: a clear ValueError for every malformed input -----


@pytest.fixture
def net_data():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    sw = rng.uniform(0.5, 2.0, 6)
    return Network([3, 4, 2], "tanh", random_state=0), X, Y, sw


NETWORK_ERRORS = [
    ("X NaN", lambda net, X, Y, sw: net.forward(with_value(X, np.nan)), "X contains NaN"),
    ("X inf", lambda net, X, Y, sw: net.forward(with_value(X, np.inf)), "X contains NaN or inf"),
    ("X NaN, loss", lambda net, X, Y, sw: net.loss_gradient(with_value(X, np.nan), Y), "X con"),
    ("y NaN", lambda net, X, Y, sw: net.loss_gradient(X, with_value(Y, np.nan)), "y contains NaN"),
    ("y -inf", lambda net, X, Y, sw: net.loss_gradient(X, with_value(Y, -np.inf)), "y contains"),
    ("X 0 rows", lambda net, X, Y, sw: net.forward(X[:0]), "0 samples"),
    ("X 0 rows, loss", lambda net, X, Y, sw: net.loss_gradient(X[:0], Y[:0]), "0 samples"),
    ("X 0 columns", lambda net, X, Y, sw: net.forward(X[:, :0]), "0 features, but the network"),
    ("X wrong columns", lambda net, X, Y, sw: net.forward(X[:, :2]), "2 features, but"),
    ("X 3-D", lambda net, X, Y, sw: net.forward(X[:, :, None]), "X must be 2-D"),
    ("X 1-D", lambda net, X, Y, sw: net.forward(X[0]), "X must be 2-D"),
    ("X scalar", lambda net, X, Y, sw: net.forward(1.0), "X must be 2-D"),
    ("X None", lambda net, X, Y, sw: net.forward(None), "X is None"),
    ("X strings", lambda net, X, Y, sw: net.forward(np.full(X.shape, "a")), "X must be numeric"),
    ("X ragged", lambda net, X, Y, sw: net.forward([[1.0, 2.0, 3.0], [1.0]]), "X must be numer"),
    ("X complex", lambda net, X, Y, sw: net.forward(X + 1j), "X is complex"),
    ("X datetime", lambda net, X, Y, sw: net.forward(X.astype("M8[s]")), "X must be numeric"),
    ("X sparse", lambda net, X, Y, sw: net.forward(sp.csr_matrix(X)), "sparse"),
    ("X int > float64", lambda net, X, Y, sw: net.forward([[10**400, 1, 1]]), "too large for f"),
    (
        "X DataFrame datetime",
        lambda net, X, Y, sw: net.forward(pd.DataFrame(X).assign(d=pd.Timestamp(0))[[0, 1, "d"]]),
        "X must be numeric, got columns of dtype datetime64",
    ),  # fmt: skip
    (
        "y Series timedelta",
        lambda net, X, Y, sw: net.loss_gradient(X, pd.DataFrame(Y).astype("m8[ns]")),
        "y must be numeric",
    ),  # fmt: skip
    (
        "X pd.NA",
        lambda net, X, Y, sw: net.forward(pd.DataFrame(X).astype("Float64").where(lambda d: d > 0)),
        "X contains NaN",
    ),  # fmt: skip
    ("y rows", lambda net, X, Y, sw: net.loss_gradient(X, Y[:-1]), r"y must have shape \(6, 2\)"),
    ("y columns", lambda net, X, Y, sw: net.loss_gradient(X, Y[:, :1]), r"shape \(6, 2\)"),
    ("y 3-D", lambda net, X, Y, sw: net.loss_gradient(X, Y[:, :, None]), "y must be 1-D or 2-D"),
    ("y None", lambda net, X, Y, sw: net.loss_gradient(X, None), "y is None"),
    ("y strings", lambda net, X, Y, sw: net.loss_gradient(X, np.full(Y.shape, "a")), "numeric"),
    ("y sparse", lambda net, X, Y, sw: net.loss_gradient(X, sp.csr_matrix(Y)), "sparse"),
    (
        "sw NaN",
        lambda net, X, Y, sw: net.loss_gradient(X, Y, sample_weight=with_value(sw, np.nan, at=1)),
        "sample_weight contains NaN",
    ),  # fmt: skip
    ("sw rows", lambda net, X, Y, sw: net.loss_gradient(X, Y, sample_weight=sw[:-1]), r"\(6,\)"),
    ("sw 2-D", lambda net, X, Y, sw: net.loss_gradient(X, Y, sample_weight=sw[:, None]), "1-D"),
    ("sw < 0", lambda net, X, Y, sw: net.loss_gradient(X, Y, sample_weight=-sw), ">= 0"),
    ("sw zero", lambda net, X, Y, sw: net.loss_gradient(X, Y, sample_weight=0 * sw), "positive"),
    ("alpha < 0", lambda net, X, Y, sw: net.loss_gradient(X, Y, alpha=-1.0), "alpha"),
    ("alpha NaN", lambda net, X, Y, sw: net.loss_gradient(X, Y, alpha=np.nan), "alpha"),
    ("alpha str", lambda net, X, Y, sw: net.loss_gradient(X, Y, alpha="1"), "alpha"),
    ("alpha None", lambda net, X, Y, sw: net.loss_gradient(X, Y, alpha=None), "alpha"),
    ("alpha array", lambda net, X, Y, sw: net.loss_gradient(X, Y, alpha=np.ones(2)), "alpha"),
    ("loss", lambda net, X, Y, sw: net.loss_gradient(X, Y, loss="hinge"), "Unknown loss"),
    ("loss pair", lambda net, X, Y, sw: net.loss_gradient(X, Y, "poisson"), "cannot be used"),
]


@pytest.mark.parametrize(
    "call,message", [c[1:] for c in NETWORK_ERRORS], ids=[c[0] for c in NETWORK_ERRORS]
)
def test_network_bad_input_is_a_clear_value_error(net_data, call, message):
    net, X, Y, sw = net_data
    before = net.params.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning / RuntimeWarning on the way
        with pytest.raises(ValueError, match=message):
            call(net, X, Y, sw)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("output", ["logistic", "softmax"])
@pytest.mark.parametrize("bad", [-0.5, 1.5, 2.0])
def test_network_log_loss_targets_outside_0_1_are_a_value_error(output, bad):
    net = Network([3, 4, 2], "tanh", output, random_state=0)
    X, Y = np.ones((3, 3)), np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]])
    net.loss_gradient(X, Y, "log_loss")  # probabilities are fine
    with pytest.raises(ValueError, match=r"log_loss needs targets in \[0, 1\]"):
        net.loss_gradient(X, with_value(Y, bad, at=(2, 1)), "log_loss")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", KINDS)
def test_hyperparameters_are_never_modified(kind, solver):
    X, y = make_data(kind)
    sizes = [4, 3]
    params = dict(hidden_layer_sizes=sizes, solver=solver, random_state=np.random.RandomState(0))
    if kind == CLF:
        params["class_weight"] = {0: 2.0, 1: 1.0, 2: 0.5}
    est = make("fastbp", kind, **params)
    before = {k: repr(v) for k, v in est.get_params().items() if k != "random_state"}
    est.fit(X, y)
    if solver != "lbfgs":
        est.partial_fit(X, y)
    assert {k: repr(v) for k, v in est.get_params().items() if k != "random_state"} == before
    assert est.hidden_layer_sizes is sizes and sizes == [4, 3]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(layer_sizes=[3, 0, 2]), ">= 1"),
        (dict(layer_sizes=[3, -1, 2]), ">= 1"),
        (dict(layer_sizes=[3, 2.5, 2]), ">= 1"),
        (dict(layer_sizes=[3, True, 2]), ">= 1"),
        (dict(layer_sizes=[3]), "input and an output"),
        (dict(layer_sizes=None), "sequence"),
        (dict(layer_sizes=[3, 2], activation="swish"), "Unknown activation"),
        (dict(layer_sizes=[3, 2], output_activation="relu"), "Unknown output_activation"),
        (dict(layer_sizes=[3, 2], dtype=np.float16), "float32 or float64"),
        (dict(layer_sizes=[3, 2], dtype="complex128"), "float32 or float64"),
        (dict(layer_sizes=[3, 2], random_state="seed"), "seed"),
        (dict(layer_sizes=[3, 2], random_state=-1), "Seed"),
    ],
)
def test_network_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


def test_network_float32_refuses_values_beyond_float32():
    net = Network([3, 4, 2], dtype=np.float32, random_state=0)
    X, Y = np.ones((2, 3)), np.ones((2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast"
        with pytest.raises(ValueError, match="X contains a value too large for float32"):
            net.forward(with_value(X, 1e39, at=(0, 0)))
        with pytest.raises(ValueError, match="y contains a value too large for float32"):
            net.loss_gradient(X, with_value(Y, -1e39, at=(1, 1)))
        with pytest.raises(ValueError, match="sample_weight contains a value too large"):
            net.loss_gradient(X, Y, sample_weight=[1.0, 1e39])
        # the largest float32 itself is fine
        net.forward(with_value(X, float(np.finfo(np.float32).max), at=(0, 0)))


NETWORK_X_FORMS = {
    "int64": (lambda X, tmp: np.round(X * 10).astype(np.int64), lambda X: np.round(X * 10)),
    "bool": (lambda X, tmp: X > 0, lambda X: (X > 0).astype(float)),
    "float16": (lambda X, tmp: X.astype(np.float16), lambda X: X.astype(np.float16)),
    "float32": (lambda X, tmp: X.astype(np.float32), lambda X: X.astype(np.float32)),
    "big-endian": (lambda X, tmp: X.astype(">f8"), lambda X: X),
    "Fortran": (lambda X, tmp: np.asfortranarray(X), lambda X: X),
    "non-contiguous": (lambda X, tmp: np.repeat(X, 2, axis=1)[:, ::2], lambda X: X),
    "reversed rows": (lambda X, tmp: X[::-1][::-1], lambda X: X),
    "read-only memmap": (lambda X, tmp: memmap(X, tmp, "X"), lambda X: X),
    "list": (lambda X, tmp: X.tolist(), lambda X: X),
    "DataFrame": (lambda X, tmp: pd.DataFrame(X), lambda X: X),
    "DataFrame Float64": (lambda X, tmp: pd.DataFrame(X).astype("Float64"), lambda X: X),
    "object": (lambda X, tmp: X.astype(object), lambda X: X),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", sorted(NETWORK_X_FORMS))
def test_network_takes_every_numeric_form(form, dtype, tmp_path):
    make_form, as_values = NETWORK_X_FORMS[form]
    rng = np.random.RandomState(0)
    X, Y, sw = rng.normal(size=(7, 3)), rng.normal(size=(7, 2)), rng.uniform(0.5, 2.0, 7)
    net = Network([3, 5, 2], "softplus", dtype=dtype, random_state=0)
    Xf, expected_X = make_form(X, tmp_path), as_values(X).astype(np.float64)
    out = net.forward(Xf)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, net.forward(expected_X))
    loss, grad = net.loss_gradient(Xf, Y, sample_weight=sw, alpha=0.1)
    ref_loss, ref_grad = net.loss_gradient(expected_X, Y, sample_weight=sw, alpha=0.1)
    assert loss == ref_loss
    np.testing.assert_array_equal(grad, ref_grad)


def test_network_takes_every_target_form(tmp_path):
    rng = np.random.RandomState(0)
    X, y, sw = rng.normal(size=(7, 3)), rng.normal(size=7), rng.uniform(0.5, 2.0, 7)
    net = Network([3, 4, 1], "relu", random_state=0)
    expected = net.loss_gradient(X, y, sample_weight=sw)
    for yf, swf in [
        (y[:, None], sw),
        (y.astype(">f8"), sw.astype(">f8")),
        (memmap(y, tmp_path, "y"), memmap(sw, tmp_path, "sw")),
        (y.tolist(), sw.tolist()),
        (pd.Series(y), pd.Series(sw)),
        (pd.DataFrame({"t": y}), pd.Series(sw).astype("Float64")),
        (np.repeat(y, 2)[::2], np.repeat(sw, 2)[::2]),
    ]:
        loss, grad = net.loss_gradient(X, yf, sample_weight=swf)
        assert loss == expected[0]
        np.testing.assert_array_equal(grad, expected[1])


def test_network_a_single_sample_matches_the_batch_of_one_reference():
    import naive

    rng = np.random.RandomState(3)
    net = Network([3, 4, 2], "logistic", "softmax", random_state=3)
    X, Y = rng.normal(size=(1, 3)), np.array([[0.0, 1.0]])
    loss, grad = net.loss_gradient(X, Y, "log_loss")
    ref_loss, ref_grad = naive.loss_gradient(
        net.params, [3, 4, 2], X, Y, "logistic", "softmax", "log_loss"
    )
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)


def test_network_inputs_are_never_modified(tmp_path):
    rng = np.random.RandomState(0)
    X, Y, sw = rng.normal(size=(9, 3)), rng.normal(size=(9, 2)), rng.uniform(0.5, 2.0, 9)
    for dtype in (np.float64, np.float32):
        net = Network([3, 4, 2], "tanh", dtype=dtype, random_state=0)
        forms = [
            read_only(X, Y, sw),
            read_only(X.astype(dtype), Y.astype(dtype), sw.astype(dtype)),
            [memmap(X, tmp_path, "X"), memmap(Y, tmp_path, "Y"), memmap(sw, tmp_path, "sw")],
            [np.asfortranarray(X), np.asfortranarray(Y), sw.astype(">f8")],
            [X.copy(), Y.copy(), sw.copy()],
        ]
        for Xf, Yf, swf in forms:
            copies = [np.array(a, copy=True) for a in (Xf, Yf, swf)]
            net.forward(Xf)
            net.loss_gradient(Xf, Yf, sample_weight=swf, alpha=0.5)
            for a, c in zip((Xf, Yf, swf), copies):
                np.testing.assert_array_equal(a, c)
                assert a.dtype == c.dtype
        df = pd.DataFrame(X)
        net.forward(df)
        pd.testing.assert_frame_equal(df, pd.DataFrame(X))
