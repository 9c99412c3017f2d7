"""fastbp.GridSearchCV against scikit-learn's GridSearchCV on the same fastbp estimator.

``cv_results_`` are compared key by key, exactly (NaN equal to NaN), but for the
timing columns; then ``best_*``, the refitted estimator, the warnings and errors
of failing candidates, and that each fold's candidates went through one
``fit_many`` call.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.model_selection import GridSearchCV as SklearnGridSearchCV
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastbp
import fastbp.search
from fastbp import GridSearchCV, MLPClassifier, MLPRegressor
from tests.helpers import assert_same_state, model_state

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

TIMES = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
GRID = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 3e-2]}


def _data(n=48):
    X, labels = make_classification(
        n, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    return X, labels, labels + 0.5 * X[:, 0]


def _regressor(**kw):
    return MLPRegressor(**{**dict(hidden_layer_sizes=(5,), max_iter=6, random_state=0), **kw})


def _classifier(**kw):
    return MLPClassifier(**{**dict(hidden_layer_sizes=(5,), max_iter=6, random_state=0), **kw})


def assert_same_results(ours, theirs):
    """Two cv_results_ hold the same keys and values, but for the times."""
    assert ours.keys() == theirs.keys()
    for key in ours.keys() - TIMES:
        a, b = ours[key], theirs[key]
        if isinstance(b, np.ma.MaskedArray):
            assert isinstance(a, np.ma.MaskedArray) and a.dtype == b.dtype, key
            np.testing.assert_array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b))
            assert a.compressed().tolist() == b.compressed().tolist(), key
        elif isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, key
            np.testing.assert_array_equal(a, b, err_msg=key)  # NaN == NaN here
        else:
            assert a == b, key
    for key in TIMES:
        assert np.isfinite(ours[key]).all() and (ours[key] >= 0).all(), key


def _both(estimator, grid, X, y, fit_params=None, **kw):
    ours = GridSearchCV(estimator, grid, **kw).fit(X, y, **(fit_params or {}))
    theirs = SklearnGridSearchCV(estimator, grid, **kw).fit(X, y, **(fit_params or {}))
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    for name in ("best_index_", "best_score_", "best_params_", "n_splits_", "multimetric_"):
        assert getattr(ours, name, None) == getattr(theirs, name, None), name
    assert hasattr(ours, "best_estimator_") == hasattr(theirs, "best_estimator_")
    if hasattr(theirs, "best_estimator_"):
        assert_same_state(ours.best_estimator_, model_state(theirs.best_estimator_), "refit")
        assert ours.refit_time_ >= 0
    assert type(ours.scorer_) is type(theirs.scorer_)
    if isinstance(theirs.scorer_, dict):
        assert ours.scorer_.keys() == theirs.scorer_.keys()
    return ours, theirs


class _CountFitMany:
    """fit_many as fastbp.search calls it, counting the calls and their sizes."""

    def __init__(self, monkeypatch):
        self.sizes = []
        self.real = fastbp.search.fit_many
        monkeypatch.setattr(fastbp.search, "fit_many", self)

    def __call__(self, estimators, *args, **kwargs):
        self.sizes.append(len(estimators))
        return self.real(estimators, *args, **kwargs)


def _lowest_alpha(results):
    return int(np.argmin(results["param_alpha"]))


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(scoring="neg_mean_absolute_error", cv=KFold(4, shuffle=True, random_state=1)),
        dict(
            scoring=["r2", "neg_mean_squared_error"],
            refit="neg_mean_squared_error",
            return_train_score=True,
        ),
        dict(scoring={"mae": make_scorer(mean_absolute_error)}, refit=False),
        dict(refit=_lowest_alpha, cv=2),
        dict(scoring=lambda est, X, y: {"a": est.score(X, y), "b": -est.loss_}, refit="a"),
    ],
)
def test_regressor_matches_scikit_learn(monkeypatch, kw):
    X, _, y = _data()
    counter = _CountFitMany(monkeypatch)
    ours, _ = _both(_regressor(solver="sgd"), GRID, X, y, **kw)
    n_splits = ours.n_splits_
    assert counter.sizes == [4] * n_splits  # one call per fold, every candidate in it


@pytest.mark.parametrize(
    "kw",
    [
        dict(scoring=["accuracy", "neg_log_loss"], refit="accuracy", return_train_score=True),
        dict(scoring="balanced_accuracy", cv=StratifiedKFold(3, shuffle=True, random_state=0)),
    ],
)
def test_classifier_matches_scikit_learn(kw):
    X, labels, _ = _data()
    y = np.array(["ant", "bee", "cat"])[labels]
    grid = [{"alpha": [1e-4, 1.0]}, {"solver": ["lbfgs"], "max_iter": [3, 5]}]
    _both(_classifier(), grid, X, y, **kw)


def test_groups_and_sample_weight():
    X, _, y = _data()
    groups = np.arange(len(y)) % 4
    sw = np.linspace(0.5, 1.5, len(y))
    _both(
        _regressor(),
        {"alpha": [1e-4, 1.0]},
        X,
        y,
        fit_params={"groups": groups, "sample_weight": sw},
        cv=GroupKFold(4),
        return_train_score=True,
    )


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.parametrize(
    "error_score, scoring",
    [
        (np.nan, None),
        (-7.5, None),
        (-7.5, ["r2", "neg_mean_absolute_error"]),
        (-7.5, lambda est, X, y: {"r2": est.score(X, y), "loss": est.loss_}),
    ],
)
def test_failing_candidates_score_error_score(error_score, scoring):
    """An invalid parameter (fitted alone) and a data-dependent failure (the fold's
    fit_many raises, each candidate is then fitted alone) score error_score, with
    scikit-learn's FitFailedWarning."""
    X, _, y = _data()
    y = y - 1.0  # negative targets: poisson fails in fit
    grid = {"alpha": [1e-4, -1.0], "loss": ["squared_error", "poisson"]}
    with pytest.warns(FitFailedWarning, match="9 fits failed out of a total of 12") as ours_w:
        ours, theirs = _both(
            _regressor(),
            grid,
            X,
            y,
            error_score=error_score,
            cv=3,
            scoring=scoring,
            refit=scoring is None or "r2",
            return_train_score=scoring is not None,
        )
    scores = ours.cv_results_["mean_test_score" if scoring is None else "mean_train_r2"]
    failed = np.isnan(scores) if np.isnan(error_score) else scores == error_score
    assert failed.tolist() == [False, True, True, True]
    messages = [str(w.message) for w in ours_w if issubclass(w.category, FitFailedWarning)]
    assert any("needs targets y >= 0" in m for m in messages)
    assert any("'alpha' parameter of MLPRegressor must be" in m for m in messages)


def _fails_to_score(est, X, y):
    if est.alpha < 0.01:
        raise RuntimeError("no score for small alphas")
    return est.score(X, y)


@pytest.mark.parametrize(
    "grid, scoring, error",
    [
        # candidates (alpha, loss): (1e-4, squared_error) fits, (1e-4, poisson) fails first
        ({"loss": ["squared_error", "poisson"], "alpha": [1e-4, -1.0]}, None, "needs targets"),
        # candidate 0 fits and fails to score before candidate 1's fits fail
        ({"alpha": [1e-4, -1.0]}, _fails_to_score, "no score for small alphas"),
    ],
)
def test_error_score_raise_raises_the_same_error(grid, scoring, error):
    X, _, y = _data()
    y = y - 1.0
    errors = []
    for search in (GridSearchCV, SklearnGridSearchCV):
        with pytest.raises(Exception) as raised:
            search(_regressor(), grid, scoring=scoring, error_score="raise").fit(X, y)
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1]
    assert error in errors[0][1]  # the first failure in scikit-learn's order


def test_all_fits_failing_raises():
    X, _, y = _data()
    with pytest.raises(ValueError, match="All the 6 fits failed"):
        GridSearchCV(_regressor(), {"alpha": [-1.0, -2.0]}, cv=3).fit(X, y)


def test_scoring_failure_warns_as_scikit_learn():
    X, _, y = _data()

    def scorer(est, X, y):
        if est.alpha > 0.01:
            raise RuntimeError("no score for you")
        return est.score(X, y)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _both(_regressor(), {"alpha": [1e-4, 1.0]}, X, y, scoring=scorer, cv=2)
    failed = [w for w in caught if "Scoring failed" in str(w.message)]
    assert len(failed) == 4  # 2 splits, in both searches


def test_other_estimators_run_scikit_learns_search(monkeypatch):
    X, _, y = _data()
    counter = _CountFitMany(monkeypatch)
    pipe = make_pipeline(StandardScaler(), _regressor())
    ours, _ = _both(pipe, {"mlpregressor__alpha": [1e-4, 1.0]}, X, y, cv=2)
    assert counter.sizes == []


@pytest.mark.parametrize("verbose", [2, 3, 10])
def test_verbose_prints_as_scikit_learn(verbose, capsys):
    X, _, y = _data()
    outputs = []
    for search in (GridSearchCV, SklearnGridSearchCV):
        search(_regressor(), {"alpha": [1e-4, 1.0]}, cv=2, verbose=verbose).fit(X, y)
        outputs.append(
            [line.split(" total time=")[0] for line in capsys.readouterr().out.split("\n")]
        )
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == "Fitting 2 folds for each of 2 candidates, totalling 4 fits"


@pytest.mark.parametrize("grid", [{"alpha": [1e-4, 1e-1]}, {"random_state": [0, None]}])
def test_candidates_drawing_from_the_global_generator(grid, monkeypatch):
    """random_state=None draws from NumPy's global generator, whose draws follow the
    order of the fits: such searches are scikit-learn's own, in its order."""
    X, _, y = _data()
    count = _CountFitMany(monkeypatch)
    est = _regressor(random_state=None) if "alpha" in grid else _regressor()
    np.random.seed(0)  # noqa: NPY002 (the global generator is what is tested)
    ours = GridSearchCV(est, grid, cv=2).fit(X, y)
    np.random.seed(0)  # noqa: NPY002 (the global generator is what is tested)
    theirs = SklearnGridSearchCV(est, grid, cv=2).fit(X, y)
    assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert count.sizes == []
