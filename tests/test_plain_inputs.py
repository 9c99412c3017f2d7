"""The fixed cost's shortcuts (fastbp/_inputs.py) give what scikit-learn's validation gives.

Each input goes through an estimator's ``_validate_input`` twice: as it is, and with
the shortcuts turned off (scikit-learn's validation only). Arrays, labels, the label
binarizer's fitted attributes and the estimator's ``n_features_in_`` must agree, and
so must the errors.
"""

import warnings

import numpy as np
import pytest
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

import fastbp
from fastbp import _base, _inputs, estimators

rng = np.random.default_rng(0)
X64 = rng.standard_normal((12, 3))
INPUTS = {
    "float64, int labels": (X64, np.arange(12) % 3),
    "float32, two classes": (X64.astype(np.float32), np.arange(12) % 2),
    "string labels": (X64, np.array(["b", "a", "c"] * 4)),
    "bool labels": (X64, np.arange(12) % 2 == 0),
    "uint8 labels": (X64, (np.arange(12) % 4).astype(np.uint8)),
    "one class": (X64, np.zeros(12, dtype=int)),
    "float targets": (X64, rng.standard_normal(12)),
    "float targets, 3 outputs": (X64, rng.standard_normal((12, 3))),
    "multilabel": (X64, (rng.random((12, 3)) > 0.5).astype(int)),
    "one column y": (X64, (np.arange(12) % 2).reshape(-1, 1)),
    "F-ordered X": (np.asfortranarray(X64), np.arange(12) % 3),
    "int X": ((X64 * 10).astype(int), np.arange(12) % 3),
    "NaN in X": (np.where(X64 > 1.5, np.nan, X64), np.arange(12) % 3),
    "inf in y": (X64, np.where(np.arange(12) == 3, np.inf, 1.0)),
    "lengths differ": (X64, np.arange(11) % 3),
    "list X": (X64.tolist(), np.arange(12) % 3),
    "3-D X": (X64.reshape(12, 3, 1), np.arange(12) % 3),
    "no columns": (np.empty((12, 0)), np.arange(12) % 3),
    "object labels": (X64, np.array(["x", 1] * 6, dtype=object)),
    "complex y": (X64, np.ones(12, dtype=complex)),
    "short strings, long dtype": (X64, np.array(["b", "a", "c"] * 4, dtype="<U10")),
    "big-endian labels": (X64, (np.arange(12) % 3).astype(">i4")),
    "big-endian strings": (X64, np.array(["bb", "a", "c"] * 4, dtype=">U3")),
    "big-endian X": (X64.astype(">f8"), np.arange(12) % 3),
}


def validated(est, X, y, monkeypatch, plain):
    if not plain:
        monkeypatch.setattr(_base, "plain_X_y", lambda *args, **kwargs: None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X, y, labels = est._validate_input(X, y, incremental=False, reset=True)
    except Exception as exc:  # (the error itself is what is compared)
        return ("raises", type(exc), str(exc))
    finally:
        monkeypatch.undo()
    lb = getattr(est, "_label_binarizer", None)
    fitted = None if lb is None else (lb.y_type_, lb.sparse_input_, lb.classes_)
    warned = [(w.category, str(w.message)) for w in caught]
    return (X, y, labels, est.n_features_in_, fitted, warned)


def same(a, b):
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.parametrize("cls", [fastbp.MLPClassifier, fastbp.MLPRegressor])
def test_shortcut_gives_scikit_learns_validation(cls, name, monkeypatch):
    X, y = INPUTS[name]
    fast = validated(cls(), X, y, monkeypatch, plain=True)
    slow = validated(cls(), X, y, monkeypatch, plain=False)
    assert same(fast, slow), (fast, slow)


def test_shortcut_is_taken_for_plain_inputs(monkeypatch):
    """(Otherwise the comparison above would compare scikit-learn with itself.)"""
    calls = []
    real = estimators.binarized
    monkeypatch.setattr(estimators, "binarized", lambda *a: calls.append(a) or real(*a))
    est = fastbp.MLPClassifier()
    est._validate_input(X64, np.arange(12) % 3, incremental=False, reset=True)
    assert len(calls) == 1 and est.classes_.tolist() == [0, 1, 2]
    assert _inputs.plain_X_y(est, *INPUTS["list X"], labels=True) is None


def test_feature_names_are_forgotten():
    pd = pytest.importorskip("pandas")
    est = fastbp.MLPRegressor(max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(pd.DataFrame(X64, columns=["a", "b", "c"]), X64[:, 0])
        assert list(est.feature_names_in_) == ["a", "b", "c"]
        est.fit(X64, X64[:, 0])
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize(
    "params",
    [{"shuffle": 1}, {"alpha": -1.0}, {"max_iter": 0}, {"solver": "newton"}],
)
def test_parameters_checked_after_valid_ones(params):
    """Parameters equal by value but not by type (1 and True) are checked apart."""
    X, y = INPUTS["float64, int labels"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastbp.MLPClassifier(max_iter=1, shuffle=True, hidden_layer_sizes=(3, 2)).fit(X, y)
    with pytest.raises(InvalidParameterError):
        kwargs = {"max_iter": 1, "hidden_layer_sizes": (3, 2), **params}
        fastbp.MLPClassifier(**kwargs).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1, True, np.int64(7), np.uint32(9), np.int8(3)])
def test_random_state_is_check_random_states_generator(seed):
    """The same state and the same draws as scikit-learn's RandomState(seed)."""
    ours, theirs = _inputs.random_state(seed), check_random_state(seed)
    assert type(ours) is type(theirs)
    for a, b in zip(ours.get_state(), theirs.get_state()):
        assert np.array_equal(a, b)
    assert np.array_equal(ours.uniform(-1, 1, 100), theirs.uniform(-1, 1, 100))
    assert np.array_equal(ours.normal(size=5), theirs.normal(size=5))  # (its gauss cache)
    order_a, order_b = np.arange(1000), np.arange(1000)
    ours.shuffle(order_a)
    theirs.shuffle(order_b)
    assert np.array_equal(order_a, order_b)


@pytest.mark.parametrize("seed", [None, np.random, "given", -1, 2**32, 1.5, "7", [1, 2]])
def test_random_state_of_anything_else_is_check_random_states(seed):
    """The global generator, a generator given, and the same errors, with their texts."""
    if seed == "given":
        seed = np.random.RandomState(3)
        assert _inputs.random_state(seed) is seed
        return
    try:
        expected = check_random_state(seed)
    except Exception as error:
        with pytest.raises(type(error)) as raised:
            _inputs.random_state(seed)
        assert str(raised.value) == str(error)
    else:
        assert _inputs.random_state(seed) is expected
