"""fastbp.from_sklearn and fastbp.to_sklearn: fitted models moved between the two
libraries keep every fitted attribute and the optimizer's state, so that training
goes on in the other library as it would have in the first.

What is exact and what is not: a conversion copies values, so a round trip
(scikit-learn -> fastbp -> scikit-learn, or the reverse) gives back the same model
bit for bit, and continuing the round-tripped model in the same library gives the
same bits as continuing the original. Across the libraries, continuing gives what
fitting from scratch gives: fastbp's sgd and adam are scikit-learn's formulas
summed in another order (one float64 ulp on some weights and losses, as in
tests/test_parity.py; float32: rounding of float32 over the few epochs run here),
and its L-BFGS agrees with scipy's to rounding; iteration counts, t_ and the
stopping rule's counters are equal.
"""

import copy
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression

import fastbp

import helpers

# cross-library agreement of continued fits (see the module's docstring)
RTOL = {np.float64: 1e-12, np.float32: 1e-5}
LBFGS_RTOL = 1e-9


def data(kind, dtype=np.float64, n=80):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 5)).astype(dtype)
    score = X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=n)
    y = {
        "regression": X[:, :2] @ [1.0, -2.0] + np.sin(X[:, 2]),
        "multioutput": np.column_stack([X[:, 0] + X[:, 1], np.tanh(X[:, 2])]),
        "poisson": rng.poisson(np.exp(0.3 * X[:, 0])).astype(float),
        "binary": (score > 0).astype(int),
        "multiclass": np.digitize(score, [-0.5, 0.5]),
        "strings": np.array(["ant", "bee", "cat"])[np.digitize(score, [-0.5, 0.5])],
        "multilabel": (X[:, :3] + 0.3 * rng.normal(size=(n, 3)) > 0).astype(int),
    }[kind]
    return X, y


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


SOLVERS = {
    "sgd": dict(solver="sgd", learning_rate_init=0.05),
    "sgd_invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1),
    "sgd_adaptive_early": dict(
        solver="sgd", learning_rate="adaptive", early_stopping=True, n_iter_no_change=2, tol=1e-2
    ),
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "adam_early": dict(solver="adam", early_stopping=True, learning_rate_init=0.01),
    "lbfgs": dict(solver="lbfgs"),
}


def sklearn_model(cls_name, kind, solver, dtype=np.float64, **params):
    X, y = data(kind, dtype)
    est = getattr(sk, cls_name)(hidden_layer_sizes=(6,), max_iter=12, random_state=0,
                                **SOLVERS[solver], **params)  # fmt: skip
    return quietly(est.fit, X, y), X, y


# (solver, how to go on): partial_fit takes neither lbfgs nor early stopping
CONTINUATIONS = [("lbfgs", "warm_start")] + [
    (solver, how)
    for solver in sorted(SOLVERS)
    if solver != "lbfgs"
    for how in (("warm_start",) if "early" in solver else ("partial_fit", "warm_start"))
]


def go_on(est, X, y, how):
    """Continue training: three partial_fit epochs, or a warm_start fit of 8 iterations."""
    if how == "partial_fit":
        for _ in range(3):
            est.partial_fit(X, y)
    else:
        est.set_params(warm_start=True, max_iter=8)
        quietly(est.fit, X, y)
    return est


FITTED = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_",
          "loss_", "best_loss_", "best_validation_score_", "_no_improvement_count",
          "loss_curve_", "validation_scores_", "coefs_", "intercepts_", "_best_coefs",
          "_best_intercepts", "classes_")  # fmt: skip


def sklearn_state(est):
    """Everything of a scikit-learn MLP that decides how it goes on, as plain values
    (compared bit for bit by helpers.state_differences)."""
    state = {name: copy.deepcopy(getattr(est, name, helpers.MISSING)) for name in FITTED}
    state["best is own"] = getattr(est, "_best_coefs", None) is est.coefs_
    opt = getattr(est, "_optimizer", None)
    if opt is not None:
        state.update({f"opt.{k}": v for k, v in vars(opt).items()})
    lb = getattr(est, "_label_binarizer", None)
    if lb is not None:
        state.update({f"lb.{k}": v for k, v in vars(lb).items()})
    return state


def assert_no_shared_memory(a, b):
    for x in a.coefs_ + a.intercepts_:
        for y in b.coefs_ + b.intercepts_:
            assert not np.shares_memory(x, y)


CASES = [
    ("MLPRegressor", "regression"),
    ("MLPRegressor", "multioutput"),
    ("MLPClassifier", "binary"),
    ("MLPClassifier", "strings"),
    ("MLPClassifier", "multilabel"),
]


# ------------------------------------------------------------ from scikit-learn ----


@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("cls_name, kind", CASES)
def test_from_sklearn_keeps_everything(cls_name, kind, solver):
    theirs, X, y = sklearn_model(cls_name, kind, solver)
    ours = fastbp.from_sklearn(theirs)
    assert type(ours) is getattr(fastbp, cls_name)
    assert ours.get_params() == {**ours.get_params(), **theirs.get_params()}
    helpers.assert_same_model(ours, theirs, X, rtol=1e-12, fitted=True, dtypes=True)
    for name in ("coefs_", "intercepts_"):  # bit for bit
        for a, b in zip(getattr(ours, name), getattr(theirs, name)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert_no_shared_memory(ours, theirs)
    # and back, bit for bit: nothing was lost on the way
    again = fastbp.to_sklearn(ours)
    assert helpers.state_differences(sklearn_state(again), sklearn_state(theirs)) == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, how", CONTINUATIONS)
@pytest.mark.parametrize("cls_name, kind", CASES[::2] + [("MLPRegressor", "poisson")])
def test_continuing_in_fastbp_is_continuing_in_sklearn(cls_name, kind, solver, how, dtype):
    kw = dict(loss="poisson") if kind == "poisson" else {}
    theirs, X, y = sklearn_model(cls_name, kind, solver, dtype, **kw)
    ours = fastbp.from_sklearn(theirs)
    expected = go_on(copy.deepcopy(theirs), X, y, how)
    go_on(ours, X, y, how)
    rtol = LBFGS_RTOL if solver == "lbfgs" else RTOL[dtype]
    helpers.assert_same_model(ours, expected, X, rtol=rtol, atol=rtol * 1e-2, fitted=True)
    count = "_no_improvement_count"
    assert getattr(ours, count, None) == getattr(expected, count, None)
    # scikit-learn's model round-tripped through fastbp goes on bit for bit in scikit-learn,
    # but where scikit-learn's optimizer state is float64 for float32 weights: a
    # regressor's (its gradients are float64 as its y is); fastbp's is float32
    back = go_on(fastbp.to_sklearn(fastbp.from_sklearn(theirs)), X, y, how)
    moments = getattr(theirs, "_optimizer", None)
    moments = moments and vars(moments).get("velocities", vars(moments).get("ms"))
    if moments and moments[0].dtype != theirs.coefs_[0].dtype:
        helpers.assert_same_model(back, expected, X, rtol=RTOL[dtype], fitted=True)
    else:
        differ = helpers.state_differences(sklearn_state(back), sklearn_state(expected))
        if solver == "lbfgs" and dtype == np.float32:
            # scikit-learn's lbfgs makes coefs_ float64, but its best weights (the
            # initial ones, unused) stay float32; fastbp keeps one dtype: the values only
            assert differ == ["_best_coefs", "_best_intercepts"]
            for a, b in zip(back._best_coefs, expected._best_coefs):
                np.testing.assert_array_equal(a, b)
        else:
            assert differ == []


def test_a_random_state_object_is_copied_in_its_state():
    X, y = data("regression")
    theirs = sk.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, solver="sgd",
                             random_state=np.random.RandomState(7))  # fmt: skip
    quietly(theirs.fit, X, y)
    ours = fastbp.from_sklearn(theirs)
    assert ours.random_state is not theirs.random_state
    expected = go_on(copy.deepcopy(theirs), X, y, "partial_fit")
    go_on(ours, X, y, "partial_fit")  # the same shuffles
    helpers.assert_same_model(ours, expected, X, rtol=1e-12, fitted=True)


# -------------------------------------------------------------- to scikit-learn ----


def fastbp_model(cls_name, kind, solver, dtype=np.float64, **params):
    X, y = data(kind, dtype)
    est = getattr(fastbp, cls_name)(hidden_layer_sizes=(6,), max_iter=12, random_state=0,
                                    **SOLVERS[solver], **params)  # fmt: skip
    return quietly(est.fit, X, y), X, y


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls_name, kind", CASES + [("MLPRegressor", "poisson"),
                                                    ("MLPClassifier", "multiclass")])  # fmt: skip
def test_to_sklearn_predicts_what_fastbp_does(cls_name, kind, dtype, activation):
    kw = dict(loss="poisson") if kind == "poisson" else {}
    ours, X, y = fastbp_model(cls_name, kind, "adam", dtype, activation=activation, **kw)
    theirs = fastbp.to_sklearn(ours)
    assert type(theirs) is getattr(sk, cls_name)
    assert_no_shared_memory(ours, theirs)
    np.testing.assert_array_equal(theirs.coefs_[0], ours.coefs_[0])
    if cls_name == "MLPClassifier":
        np.testing.assert_array_equal(theirs.predict(X), ours.predict(X))
        np.testing.assert_allclose(theirs.predict_proba(X), ours.predict_proba(X), rtol=RTOL[dtype])
    else:
        np.testing.assert_allclose(theirs.predict(X), ours.predict(X), rtol=RTOL[dtype])


@pytest.mark.parametrize("solver, how", CONTINUATIONS)
@pytest.mark.parametrize("cls_name, kind", [("MLPRegressor", "regression"),
                                            ("MLPClassifier", "multiclass")])  # fmt: skip
def test_continuing_in_sklearn_is_continuing_in_fastbp(cls_name, kind, solver, how):
    ours, X, y = fastbp_model(cls_name, kind, solver)
    theirs = go_on(fastbp.to_sklearn(ours), X, y, how)
    # fastbp's model round-tripped through scikit-learn goes on bit for bit in fastbp
    back = go_on(fastbp.from_sklearn(fastbp.to_sklearn(ours)), X, y, how)
    go_on(ours, X, y, how)
    rtol = LBFGS_RTOL if solver == "lbfgs" else RTOL[np.float64]
    helpers.assert_same_model(ours, theirs, X, rtol=rtol, atol=rtol * 1e-2, fitted=True)
    helpers.assert_same_state(back, helpers.model_state(ours), "round trip")


def test_to_sklearn_of_assigned_weights():
    ours, X, y = fastbp_model("MLPRegressor", "regression", "adam")
    ours.coefs_ = [2.0 * c for c in ours.coefs_]  # (copied into the network before use)
    theirs = fastbp.to_sklearn(ours)
    np.testing.assert_allclose(theirs.predict(X), ours.predict(X), rtol=1e-12)


# -------------------------------------------------------------------- errors ----


def test_what_scikit_learn_does_not_have_is_refused():
    X, y = data("binary")
    for params, match in [
        (dict(activation="softplus"), "softplus"),
        (dict(activation="leaky_relu"), "leaky_relu"),
        (dict(class_weight={0: 1.0, 1: 3.0}), "class_weight"),
    ]:
        ours = quietly(fastbp.MLPClassifier((3,), max_iter=3, **params).fit, X, y)
        with pytest.raises(ValueError, match=match):
            fastbp.to_sklearn(ours)
    with pytest.raises(TypeError, match="Network"):
        fastbp.to_sklearn(fastbp.Network([2, 1]))


def test_unfitted_and_foreign_models_are_refused():
    with pytest.raises(NotFittedError):
        fastbp.from_sklearn(sk.MLPClassifier())
    with pytest.raises(NotFittedError):
        fastbp.to_sklearn(fastbp.MLPRegressor())
    with pytest.raises(TypeError, match="LogisticRegression"):
        fastbp.from_sklearn(LogisticRegression())
    with pytest.raises(TypeError, match="fastbp.estimators.MLPRegressor"):
        fastbp.from_sklearn(fastbp.MLPRegressor())
    with pytest.raises(TypeError, match="sklearn.neural_network"):
        fastbp.to_sklearn(sk.MLPRegressor())


def test_inconsistent_weights_are_refused():
    theirs, X, y = sklearn_model("MLPRegressor", "regression", "adam")
    theirs.coefs_ = [theirs.coefs_[0], theirs.coefs_[1][:3]]
    with pytest.raises(ValueError, match="chain"):
        fastbp.from_sklearn(theirs)
