"""EnsembleRegressor and EnsembleClassifier.

Each member is compared, bit for bit in every fitted attribute, with the same
estimator fitted alone: ``clone(estimator)`` with ``random_state=seeds_[k]``, on
all the rows or on the rows BaggingRegressor draws for its member k. The seeds
are checked against scikit-learn's own ensembles, predictions against the
members' mean, and warm starts, partial_fit, failed fits, model files, pickling,
Pipeline, GridSearchCV and scikit-learn's estimator checks.
"""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.ensemble import BaggingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV as SklearnGridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastbp
from fastbp import EnsembleClassifier, EnsembleRegressor, MLPClassifier, MLPRegressor
from tests.helpers import assert_same_state, model_state, state_differences

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

MAX_INT = np.iinfo(np.int32).max


def _data(n=40, n_classes=3, seed=0):
    X, labels = make_classification(
        n, 4, n_informative=3, n_redundant=0, n_classes=n_classes, random_state=seed
    )
    return X, labels, labels + 0.5 * X[:, 0]


def _regressor(**kw):
    params = dict(hidden_layer_sizes=(5,), max_iter=8, random_state=0)
    return MLPRegressor(**{**params, **kw})


def _classifier(**kw):
    params = dict(hidden_layer_sizes=(5,), max_iter=8, random_state=0)
    return MLPClassifier(**{**params, **kw})


def _alone(estimator, seed, X, y, **fit_params):
    return clone(estimator).set_params(random_state=int(seed)).fit(X, y, **fit_params)


def _assert_members_alone(ens, estimator, X, y, rows=None, **fit_params):
    assert len(ens.estimators_) == ens.n_estimators == len(ens.seeds_)
    for k, (member, seed) in enumerate(zip(ens.estimators_, ens.seeds_)):
        assert type(member) is type(estimator) and member.random_state == seed
        Xk, yk = (X, y) if rows is None else (X[rows[k]], y[rows[k]])
        assert_same_state(member, model_state(_alone(estimator, seed, Xk, yk, **fit_params)), k)


# ------------------------------------------------------ members and seeds ----


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_regressor_members_are_single_fits(solver):
    X, _, y = _data()
    est = _regressor(solver=solver, early_stopping=solver == "adam")
    ens = EnsembleRegressor(est, n_estimators=3, random_state=1).fit(X, y)
    _assert_members_alone(ens, est, X, y)


def test_classifier_members_are_single_fits():
    X, labels, _ = _data()
    y = np.array(["ant", "bee", "cat"])[labels]
    est = _classifier(solver="sgd")
    ens = EnsembleClassifier(est, n_estimators=3, random_state=2).fit(X, y)
    _assert_members_alone(ens, est, X, y)
    assert list(ens.classes_) == ["ant", "bee", "cat"]


def test_seeds_are_scikit_learns():
    """seeds_: BaggingRegressor's per-member seeds, and the random_state values a
    random forest gives its trees; member k's random_state is seeds_[k]."""
    X, _, y = _data()
    ens = EnsembleRegressor(_regressor(), n_estimators=5, random_state=7).fit(X, y)
    bagging = BaggingRegressor(_regressor(), n_estimators=5, random_state=7).fit(X, y)
    forest = RandomForestRegressor(n_estimators=5, max_depth=1, random_state=7).fit(X, y)
    np.testing.assert_array_equal(ens.seeds_, bagging._seeds)
    assert list(ens.seeds_) == [tree.random_state for tree in forest.estimators_]
    assert [m.random_state for m in ens] == list(ens.seeds_)
    rng = np.random.RandomState(7)
    again = EnsembleRegressor(_regressor(), n_estimators=5, random_state=rng).fit(X, y)
    np.testing.assert_array_equal(again.seeds_, ens.seeds_)


@pytest.mark.parametrize("weighted", [False, True])
def test_bootstrap_members_fit_baggings_rows(weighted):
    """Member k fits on X[rows_k], rows_k the rows BaggingRegressor draws for its
    member k (with sample_weight as the draw's probabilities)."""
    X, _, y = _data()
    sw = np.linspace(0.2, 2.0, len(y)) if weighted else None
    est = _regressor(solver="sgd", batch_size=8)
    ens = EnsembleRegressor(est, n_estimators=3, bootstrap=True, random_state=3)
    ens.fit(X, y, sample_weight=sw)
    bagging = BaggingRegressor(est, n_estimators=3, random_state=3).fit(X, y, sample_weight=sw)
    rows = bagging.estimators_samples_
    assert all(len(np.unique(r)) < len(y) for r in rows)  # drawn with replacement
    _assert_members_alone(ens, est, X, y, rows=rows)


def test_sample_weight_without_bootstrap():
    X, _, y = _data()
    sw = np.linspace(0.0, 2.0, len(y))
    est = _regressor(solver="adam")
    ens = EnsembleRegressor(est, n_estimators=2, random_state=0).fit(X, y, sample_weight=sw)
    _assert_members_alone(ens, est, X, y, sample_weight=sw)


# ------------------------------------------------------------- predictions ----


def test_regressor_predicts_members_mean_and_std():
    X, _, y = _data()
    Y = np.column_stack([y, X[:, 1]])
    for target in (y, Y):
        ens = EnsembleRegressor(_regressor(), n_estimators=4, random_state=0).fit(X, target)
        each = np.stack([m.predict(X) for m in ens])
        mean, std = ens.predict(X, return_std=True)
        np.testing.assert_array_equal(ens.predict(X), each.mean(axis=0))
        np.testing.assert_array_equal(mean, each.mean(axis=0))
        np.testing.assert_array_equal(std, each.std(axis=0))
        assert mean.shape == std.shape == target.shape and (std > 0).all()


def test_classifier_averages_predict_proba():
    X, labels, _ = _data()
    y = np.array(["ant", "bee", "cat"])[labels]
    ens = EnsembleClassifier(_classifier(), n_estimators=4, random_state=0).fit(X, y)
    mean = np.stack([m.predict_proba(X) for m in ens]).mean(axis=0)
    np.testing.assert_array_equal(ens.predict_proba(X), mean)
    np.testing.assert_array_equal(ens.predict_log_proba(X), np.log(mean))
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[mean.argmax(axis=1)])
    assert ens.score(X, y) == np.mean(ens.predict(X) == y)


def test_classifier_binary_and_multilabel():
    X, labels, _ = _data(n_classes=2)
    ens = EnsembleClassifier(_classifier(), n_estimators=2, random_state=0).fit(X, labels)
    assert ens.predict_proba(X).shape == (len(X), 2)
    np.testing.assert_array_equal(ens.predict(X), ens.predict_proba(X).argmax(axis=1))
    X, Y = make_multilabel_classification(30, 4, n_classes=3, random_state=0)
    ens = EnsembleClassifier(_classifier(), n_estimators=2, random_state=0).fit(X, Y)
    mean = np.stack([m.predict_proba(X) for m in ens]).mean(axis=0)
    np.testing.assert_array_equal(ens.predict_proba(X), mean)
    np.testing.assert_array_equal(ens.predict(X), (mean > 0.5).astype(int))
    _assert_members_alone(ens, _classifier(), X, Y)


def test_bootstrap_member_missing_a_class():
    """A member whose bootstrap sample lacks a class gives it probability 0."""
    X, labels, _ = _data(n=30)
    y = np.where(np.arange(30) == 0, -1, labels)  # class -1 (the first column): one row
    ens = EnsembleClassifier(_classifier(), n_estimators=6, bootstrap=True, random_state=0)
    ens.fit(X, y)
    short = [m for m in ens if len(m.classes_) < len(ens.classes_)]
    assert short and any(len(m.classes_) == len(ens.classes_) for m in ens)
    proba = ens.predict_proba(X)
    expected = np.zeros((len(ens), len(X), len(ens.classes_)))
    for k, m in enumerate(ens):
        expected[k][:, np.searchsorted(ens.classes_, m.classes_)] = m.predict_proba(X)
    np.testing.assert_array_equal(proba, expected.mean(axis=0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------- warm start, partial_fit, failures ----


def test_warm_start_continues_members_and_adds_new_ones():
    X, _, y = _data()
    est = _regressor(solver="sgd", warm_start=True, max_iter=3)
    ens = EnsembleRegressor(est, n_estimators=2, random_state=5).fit(X, y)
    firsts = [model_state(m) for m in ens]
    ens.set_params(n_estimators=4, estimator__max_iter=5).fit(X, y)
    fresh = EnsembleRegressor(est, n_estimators=4, random_state=5).fit(X, y)
    np.testing.assert_array_equal(ens.seeds_, fresh.seeds_)  # as one fit of them all
    for k, seed in enumerate(ens.seeds_):
        alone = clone(est).set_params(random_state=int(seed), max_iter=3).fit(X, y)
        if k < 2:  # continued: 3 epochs, then 5 more with the new max_iter
            assert_same_state(alone, firsts[k], k)
            alone.set_params(max_iter=5).fit(X, y)
        else:  # new: fitted once with the new max_iter
            alone = clone(est).set_params(random_state=int(seed), max_iter=5).fit(X, y)
        assert_same_state(ens[k], model_state(alone), k)
    with pytest.raises(ValueError, match="must be larger or equal to len"):
        ens.set_params(n_estimators=3).fit(X, y)


def test_without_warm_start_a_second_fit_starts_over():
    X, _, y = _data()
    ens = EnsembleRegressor(_regressor(), n_estimators=3, random_state=5).fit(X, y)
    ens.set_params(n_estimators=2).fit(X, y)  # fewer members: a new ensemble
    fresh = EnsembleRegressor(_regressor(), n_estimators=2, random_state=5).fit(X, y)
    np.testing.assert_array_equal(ens.seeds_, fresh.seeds_)
    for k, m in enumerate(ens):
        assert_same_state(m, model_state(fresh[k]), k)


def test_partial_fit_is_each_members_partial_fit():
    X, labels, y = _data()
    est = _regressor(solver="sgd")
    ens = EnsembleRegressor(est, n_estimators=2, random_state=0)
    ens.partial_fit(X[:20], y[:20]).partial_fit(X[20:], y[20:])
    for m, seed in zip(ens, ens.seeds_):
        alone = clone(est).set_params(random_state=int(seed))
        alone.partial_fit(X[:20], y[:20]).partial_fit(X[20:], y[20:])
        assert_same_state(m, model_state(alone), seed)

    clf = EnsembleClassifier(_classifier(), n_estimators=2, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:20], labels[:20])
    clf.partial_fit(X[:20], labels[:20], classes=[0, 1, 2]).partial_fit(X[20:], labels[20:])
    for m, seed in zip(clf, clf.seeds_):
        alone = clone(_classifier()).set_params(random_state=int(seed))
        alone.partial_fit(X[:20], labels[:20], classes=[0, 1, 2]).partial_fit(X[20:], labels[20:])
        assert_same_state(m, model_state(alone), seed)

    with pytest.raises(AttributeError) as refused:
        EnsembleRegressor(est, n_estimators=2, bootstrap=True).partial_fit(X, y)
    assert "does not bootstrap" in str(refused.value.__cause__)
    with pytest.raises(ValueError, match="partial_fit continues the members"):
        ens.set_params(n_estimators=3).partial_fit(X, y)
    assert not hasattr(EnsembleClassifier(_classifier(solver="lbfgs")), "partial_fit")


def test_a_failed_fit_leaves_the_ensemble_as_it_was():
    X, _, y = _data()
    rng = np.random.RandomState(0)
    ens = EnsembleRegressor(_regressor(warm_start=True), n_estimators=2, random_state=rng)
    ens.fit(X, y)
    members, seeds, states = list(ens.estimators_), ens.seeds_, [model_state(m) for m in ens]
    rng_state = rng.get_state(legacy=False)
    X_bad = X.copy()
    X_bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ens.fit(X_bad, y)
    ens.set_params(n_estimators=3, estimator__hidden_layer_sizes=(4,))  # warm start: refused
    with pytest.raises(ValueError):
        ens.fit(X, y)
    with pytest.raises(ValueError):
        ens.set_params(n_estimators=2).partial_fit(X[:, :3], y)
    assert ens.estimators_ == members and ens.seeds_ is seeds and ens.n_features_in_ == 4
    for m, state in zip(ens, states):
        assert_same_state(m, state, "after failed fits")
    assert rng.get_state(legacy=False)["state"]["pos"] == rng_state["state"]["pos"]


# ----------------------------------------------------------- the estimator ----


def test_parameters_and_default_estimator():
    ens = EnsembleRegressor()
    assert ens.get_params(deep=False) == {
        "estimator": None,
        "n_estimators": 16,
        "bootstrap": False,
        "random_state": None,
    }
    deep = EnsembleRegressor(_regressor()).set_params(estimator__alpha=0.5).get_params()
    assert deep["estimator__alpha"] == 0.5 and deep["estimator__hidden_layer_sizes"] == (5,)
    X, labels, y = _data(n=20)
    for cls, default, target in (
        (EnsembleRegressor, MLPRegressor, y),
        (EnsembleClassifier, MLPClassifier, labels),
    ):
        ens = cls(n_estimators=2, random_state=0).fit(X, target)
        assert type(ens.estimator_) is default
        assert ens[0].get_params() == default(random_state=int(ens.seeds_[0])).get_params()
    with pytest.raises(TypeError, match="must be a fastbp MLPRegressor"):
        EnsembleRegressor(_classifier()).fit(X, y)
    with pytest.raises(TypeError, match="must be a fastbp MLPClassifier"):
        EnsembleClassifier(Ridge()).fit(X, labels)


def test_pickle_and_model_files(tmp_path):
    X, labels, y = _data()
    rng = np.random.RandomState(3)
    models = [
        (EnsembleRegressor(_regressor(solver="sgd"), n_estimators=3, random_state=rng), y),
        (
            EnsembleClassifier(
                _classifier(random_state=np.random.RandomState(1)), 3, True, random_state=0
            ),
            np.array(["ant", "bee", "cat"])[labels],
        ),
    ]
    for ens, target in models:
        ens.fit(X, target)
        path = tmp_path / "ensemble.npz"
        fastbp.save(ens, path)
        # a model file keeps no generator and no early-stopping weights (fastbp.io)
        not_in_files = {"random_state", "_best_params"}
        for again, skip in (
            (fastbp.load(path), not_in_files),
            (pickle.loads(pickle.dumps(ens)), ()),
        ):
            assert type(again) is type(ens)
            np.testing.assert_array_equal(again.seeds_, ens.seeds_)
            assert _params(again) == _params(ens)
            for a, b in zip(again, ens):
                differ = state_differences(model_state(a), model_state(b))
                assert set(differ) <= set(skip), differ
            if isinstance(ens, EnsembleClassifier):
                np.testing.assert_array_equal(again.predict_proba(X), ens.predict_proba(X))
                np.testing.assert_array_equal(again.classes_, ens.classes_)
            else:  # and the optimizer goes on as it would have
                np.testing.assert_array_equal(again.predict(X), ens.predict(X))
                again.partial_fit(X, target)
                ens_copy = pickle.loads(pickle.dumps(ens)).partial_fit(X, target)
                np.testing.assert_array_equal(again.predict(X), ens_copy.predict(X))


def _params(est):
    """get_params(), a RandomState as its state."""

    def plain(v):
        return str(v.get_state(legacy=False)) if isinstance(v, np.random.RandomState) else v

    return {k: plain(v) for k, v in est.get_params().items() if k != "estimator"}


def _rewrite(src, dst, meta=None, arrays=None):
    with np.load(src, allow_pickle=False) as f:
        content = {k: f[k] for k in f.files}
    if meta is not None:
        data = json.loads(content["metadata"].tobytes().decode())
        meta(data)
        content["metadata"] = np.frombuffer(json.dumps(data).encode(), np.uint8)
    if arrays is not None:
        arrays(content)
    np.savez_compressed(dst, **content)


def _edit_member(k, fn):
    def edit(content):
        name = f"members/{k}/metadata"
        data = json.loads(content[name].tobytes().decode())
        fn(data)
        content[name] = np.frombuffer(json.dumps(data).encode(), np.uint8)

    return edit


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(meta=lambda m: m.update(seeds=m["seeds"][:1])), "unexpected array"),
        (dict(meta=lambda m: m["seeds"].__setitem__(0, -1)), r"seeds\[0\] must be"),
        (dict(meta=lambda m: m.update(seeds=[])), "non-empty list"),
        (dict(meta=lambda m: m["seeds"].append(5)), r"member 2: .*no 'metadata'"),
        (dict(meta=lambda m: m["hyperparameters"].pop("bootstrap")), "missing .'bootstrap'"),
        (dict(meta=lambda m: m["hyperparameters"].update(n_estimators=0)), "invalid hyper"),
        (dict(meta=lambda m: m["estimator"].update(alpha=-1)), "invalid estimator hyper"),
        (dict(meta=lambda m: m.pop("label_binarizer")), "missing 'label_binarizer'"),
        (dict(meta=lambda m: m["attributes"].update(n_features_in_=3)), "member 0 has 4 feat"),
        (dict(arrays=lambda a: a.pop("members/1/params")), r"member 1: missing array"),
        (dict(arrays=lambda a: a.update({"members/x/params": a["classes"]})), "unexpected"),
        (
            dict(arrays=_edit_member(1, lambda m: m["hyperparameters"].update(random_state=4))),
            r"member 1's random_state 4 is not seeds\[1\]",
        ),
        (dict(arrays=_edit_member(0, lambda m: m.update(kind="EnsembleClassifier"))), "kind"),
        (dict(arrays=_edit_member(0, lambda m: m.update(kind="MLPRegressor"))), "kind"),
    ],
)
def test_damaged_ensemble_files_are_refused(tmp_path, change, message):
    X, labels, _ = _data()
    ens = EnsembleClassifier(_classifier(), n_estimators=2, random_state=0).fit(X, labels)
    fastbp.save(ens, tmp_path / "good.npz")
    _rewrite(tmp_path / "good.npz", tmp_path / "bad.npz", **change)
    with pytest.raises(ValueError, match=message):
        fastbp.load(tmp_path / "bad.npz")


def test_pipeline_and_grid_search():
    X, labels, y = _data()
    pipe = make_pipeline(StandardScaler(), EnsembleRegressor(_regressor(), 2, random_state=0))
    pipe.fit(X, y)
    Xs = StandardScaler().fit_transform(X)
    alone = EnsembleRegressor(_regressor(), 2, random_state=0).fit(Xs, y)
    np.testing.assert_array_equal(pipe.predict(X), alone.predict(Xs))
    grid = {"estimator__alpha": [1e-4, 1.0], "n_estimators": [1, 2]}
    ens = EnsembleClassifier(_classifier(), random_state=0)
    ours = fastbp.GridSearchCV(ens, grid, cv=2).fit(X, labels)
    theirs = SklearnGridSearchCV(ens, grid, cv=2).fit(X, labels)
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )
    assert ours.best_params_ == theirs.best_params_
    best = ours.best_params_
    assert len(ours.best_estimator_) == best["n_estimators"]
    assert all(m.alpha == best["estimator__alpha"] for m in ours.best_estimator_)


def _expected_failures(estimator):
    if not estimator.bootstrap:
        return {}
    reason = (
        "with bootstrap=True, sample_weight is the probability of drawing each row"
        " (as in BaggingRegressor): weight 2 and a repeated row draw differently"
    )
    return {
        f"check_sample_weight_equivalence_on_{kind}_data": reason for kind in ("dense", "sparse")
    }


@pytest.mark.slow
@parametrize_with_checks(
    [
        EnsembleClassifier(MLPClassifier(max_iter=100), n_estimators=3),
        EnsembleRegressor(MLPRegressor(max_iter=100), n_estimators=3),
        EnsembleRegressor(MLPRegressor(max_iter=100), n_estimators=2, bootstrap=True),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
