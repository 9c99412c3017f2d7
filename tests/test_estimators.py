"""The estimators in the user's ecosystem: pipelines, searches, clone, pickle,
dtypes, feature names, class weights, errors (each compared with scikit-learn's)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastbp import MLPClassifier, MLPRegressor

# the fits here are a few epochs long
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def data():
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=0)
    return X, y


def test_signatures_are_sklearns():
    import inspect

    for ours, theirs in [(MLPRegressor, sk.MLPRegressor), (MLPClassifier, sk.MLPClassifier)]:
        a = inspect.signature(ours.__init__).parameters
        b = inspect.signature(theirs.__init__).parameters
        extra = (["class_weight"] if ours is MLPClassifier else []) + ["progress"]
        assert list(a) == list(b) + extra
        for name in b:
            assert a[name].kind == b[name].kind and a[name].default == b[name].default, name


def test_coefs_are_views_of_one_buffer(data):
    X, y = data
    est = MLPClassifier((5, 4), max_iter=3, random_state=0).fit(X, y)
    for view in est.coefs_ + est.intercepts_:
        assert np.shares_memory(view, est._network.params)
    packed = np.hstack([a.ravel() for a in est.coefs_ + est.intercepts_])
    np.testing.assert_array_equal(packed, est._network.params)


def test_pickle_and_clone_round_trip(data):
    X, y = data
    est = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert all(np.shares_memory(v, again._network.params) for v in again.coefs_ + again.intercepts_)
    again.partial_fit(X, y)  # training continues on the restored buffer
    assert not np.array_equal(again.coefs_[0], est.coefs_[0])
    fresh = clone(est)
    assert not hasattr(fresh, "coefs_") and fresh.get_params() == est.get_params()


def test_pipeline_and_grid_search(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (8,)]}, cv=3)
    search.fit(X, y)
    ref = GridSearchCV(
        make_pipeline(StandardScaler(), sk.MLPClassifier(max_iter=30, random_state=0)),
        {"mlpclassifier__hidden_layer_sizes": [(4,), (8,)]},
        cv=3,
    ).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )
    assert search.best_params_ == ref.best_params_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_dtype_in_dtype_out(dtype, solver):
    X = np.random.RandomState(0).rand(60, 3).astype(dtype)
    y = X.sum(1)
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=5).fit(X, y)
    assert reg.coefs_[0].dtype == dtype and reg.predict(X).dtype == dtype
    clf = MLPClassifier((4,), solver=solver, max_iter=5).fit(X, y > y.mean())
    assert clf.predict_proba(X).dtype == dtype


# predicting arrays with a model fitted on a DataFrame: scikit-learn's UserWarning
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_integer_boolean_and_pandas_input(data):
    X, y = data
    Xi = (X * 10).astype(np.int64)
    a = MLPClassifier((5,), max_iter=5, random_state=0).fit(Xi, y)
    b = sk.MLPClassifier((5,), max_iter=5, random_state=0).fit(Xi, y)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-9)
    MLPRegressor(hidden_layer_sizes=(3,), max_iter=3).fit(X > 0, y.astype(bool))
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = MLPClassifier((5,), max_iter=5, random_state=0).fit(df, pd.Series(y))
    np.testing.assert_array_equal(est.feature_names_in_, df.columns)
    np.testing.assert_array_equal(est.predict(df), est.predict(X))


@pytest.mark.slow
def test_extra_activations(data):
    X, y = data
    relu = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, y).score(X, y)
    for act in ("softplus", "leaky_relu"):
        est = MLPClassifier((8,), activation=act, max_iter=300, random_state=0).fit(X, y)
        assert est.score(X, y) > max(0.7, relu - 0.05)
    with pytest.raises(ValueError, match="activation"):
        sk.MLPClassifier(activation="softplus").fit(X, y)


def test_class_weight(data):
    X, y = data
    keep = (y != 2) | (np.arange(len(y)) % 5 == 0)  # class 2 rare
    X, y = X[keep], y[keep]
    plain = MLPClassifier((6,), max_iter=20, random_state=0).fit(X, y)
    weights = {0: 1.0, 1: 1.0, 2: 5.0}
    cw = MLPClassifier((6,), max_iter=20, random_state=0, class_weight=weights).fit(X, y)
    sw = np.array([weights[c] for c in y])
    by_hand = MLPClassifier((6,), max_iter=20, random_state=0).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(cw.coefs_[0], by_hand.coefs_[0])
    assert not np.array_equal(cw.coefs_[0], plain.coefs_[0])
    bal = MLPClassifier((6,), max_iter=20, random_state=0, class_weight="balanced").fit(X, y)
    assert (bal.predict(X) == 2).sum() > (plain.predict(X) == 2).sum()
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="heavy").fit(X, y)


def same_error(make, call, exact=True):
    """Call ``call`` on fastbp's and scikit-learn's estimator; both raise alike."""
    errors = []
    for module in ("fastbp", "sk"):
        est = make(module)
        with pytest.raises(Exception) as info:
            call(est)
        errors.append(info)
    assert errors[0].type is errors[1].type
    if exact:
        assert str(errors[0].value) == str(errors[1].value)
    else:
        # the list of choices comes from a set, in hash order (and fastbp accepts
        # more activations): compare what is named and what was given
        ours, theirs = str(errors[0].value), str(errors[1].value)
        assert ours.split(" must ")[0] == theirs.split(" must ")[0]
        assert ours.split(". Got ")[-1] == theirs.split(". Got ")[-1]


@pytest.mark.parametrize(
    "params",
    [
        dict(alpha=-1),
        dict(hidden_layer_sizes=(0,)),
        dict(hidden_layer_sizes=(3, -1)),
        dict(activation="swish"),
        dict(solver="newton"),
        dict(batch_size=0),
        dict(validation_fraction=1.0),
        dict(learning_rate="cyclic"),
        dict(momentum=1.5),
        dict(max_iter=0),
    ],
)
def test_invalid_parameters_raise_sklearns_errors(data, params):
    X, y = data
    mods = {"fastbp": (MLPClassifier, MLPRegressor), "sk": (sk.MLPClassifier, sk.MLPRegressor)}
    for i in range(2):
        same_error(lambda m, i=i: mods[m][i](**params), lambda est: est.fit(X, y), exact=False)


def test_input_errors_are_sklearns(data):
    X, y = data
    mods = {"fastbp": MLPClassifier, "sk": sk.MLPClassifier}
    same_error(lambda m: mods[m](), lambda est: est.predict(X))  # NotFittedError
    Xn = X.copy()
    Xn[0, 0] = np.nan
    same_error(lambda m: mods[m](), lambda est: est.fit(Xn, y))
    same_error(lambda m: mods[m](), lambda est: est.fit(X, y[:-1]))
    same_error(lambda m: mods[m](max_iter=2).fit(X, y), lambda est: est.predict(X[:, :3]))
    same_error(lambda m: mods[m](solver="lbfgs"), lambda est: est.partial_fit(X, y))
    same_error(lambda m: mods[m](early_stopping=True), lambda est: est.partial_fit(X, y, [0, 1, 2]))
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)


# ----- a fitted model's weights, and fits that go on from them -----


def regression_data(n_outputs=1):
    X = np.random.RandomState(0).randn(120, 3)
    Y = np.column_stack([X @ [1.0, 2.0, 3.0] * (-1) ** j for j in range(n_outputs)])
    return X, Y[:, 0] if n_outputs == 1 else Y


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize(
    "how, outputs, new_outputs, new_hidden",
    [("partial_fit", 1, 2, (5,)), ("warm_start", 1, 3, (5,)), ("warm_start", 3, 1, (5,)),
     ("warm_start", 1, 1, (5, 5)), ("warm_start", 1, 1, (6,))],
)  # fmt: skip
def test_a_fit_going_on_cannot_change_the_networks_sizes(
    solver, how, outputs, new_outputs, new_hidden
):
    # scikit-learn fails inside its matrix products here (or, from 3 outputs to 1,
    # trains on through numpy broadcasting); the kernels have no bounds checks, so
    # such a fit must be refused before it reaches them, leaving the model as it was.
    if how == "partial_fit" and solver == "lbfgs":
        pytest.skip("partial_fit is sgd and adam only")
    X, y = regression_data(outputs)
    est = MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0)
    est.fit(X, y)
    params, pred = est._network.params.copy(), est.predict(X)
    _, y_new = regression_data(new_outputs)
    est.set_params(hidden_layer_sizes=new_hidden, warm_start=how == "warm_start")
    with pytest.raises(ValueError, match=r"layer sizes .* but the fitted network has"):
        est.partial_fit(X, y_new) if how == "partial_fit" else est.fit(X, y_new)
    np.testing.assert_array_equal(est._network.params, params)
    np.testing.assert_array_equal(est.predict(X), pred)
    assert est.n_outputs_ == outputs


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_assigned_coefs_and_intercepts_are_the_models_weights(solver, tmp_path):
    # As in scikit-learn: weights assigned to coefs_ / intercepts_ (a new list, or
    # a new array in one) are what the model predicts with and trains on.
    import fastbp

    X, y = regression_data()
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=20, random_state=0)
    ours, theirs = MLPRegressor(**kw).fit(X, y), sk.MLPRegressor(**kw).fit(X, y)
    for m in (ours, theirs):
        m.intercepts_ = [b + 100 for b in m.intercepts_]
        m.coefs_[0] = np.full_like(m.coefs_[0], 0.1)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    # kept by pickle and model files, then trained on by a warm fit
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ours)).predict(X), ours.predict(X))
    fastbp.save(ours, tmp_path / "m.npz")
    np.testing.assert_array_equal(fastbp.load(tmp_path / "m.npz").predict(X), ours.predict(X))
    for m in (ours, theirs):
        m.set_params(warm_start=True, max_iter=3).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # the assigned arrays are copied into the model's one buffer; a wrong shape is refused
    assert all(np.shares_memory(c, ours._network.params) for c in ours.coefs_ + ours.intercepts_)
    ours.coefs_ = [np.ones((3, 4)), np.ones((4, 1))]
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(3, 5\), got \(3, 4\)"):
        ours.predict(X)


def test_poisson_with_negative_targets_is_refused_before_training():
    # scikit-learn trains on to loss_ = nan; here a clear error, the model unchanged
    X, y = regression_data()
    y = np.exp(X @ [0.3, 0.2, 0.1])
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    params = est.fit(X, y)._network.params.copy()
    y[0] = -1
    with pytest.raises(ValueError, match="poisson.* y >= 0"):
        est.set_params(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="poisson.* y >= 0"):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est._network.params, params)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_a_memory_mapped_model_trains_on(solver, tmp_path):
    # joblib.load(..., mmap_mode="r") gives read-only weights and optimizer state
    # (scikit-learn: "output array is read-only"); partial_fit goes on from copies.
    import joblib

    X, y = regression_data()
    est = MLPRegressor(hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0)
    est.fit(X, y)
    joblib.dump(est, tmp_path / "m.joblib")
    mapped = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
    assert not mapped._network.params.flags.writeable
    for m in (mapped, est):
        m.partial_fit(X, y)
    np.testing.assert_array_equal(mapped.predict(X), est.predict(X))
    assert mapped.t_ == est.t_


def test_a_newer_scikit_learn_warns_once_that_parity_was_verified_up_to_this_one():
    import warnings

    from fastbp._versions import VERIFIED_SKLEARN, ParityWarning, check_sklearn

    major, minor = VERIFIED_SKLEARN
    for newer in (f"{major}.{minor + 1}.0", f"{major}.{minor + 1}.dev0", f"{major + 1}.0"):
        with pytest.warns(ParityWarning, match=rf"verified up to scikit-learn {major}\.{minor};"):
            check_sklearn(newer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for verified in (f"{major}.{minor}.0", f"{major}.{minor}.7", f"{major}.{minor - 1}.2"):
            check_sklearn(verified)
