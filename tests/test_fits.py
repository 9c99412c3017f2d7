"""Whole fits in compiled code (fastbp/_kernels/fits.py): NumPy's sums and scikit-learn's
validation scores to the last bit, and the fit's Python side."""

import warnings

import numba
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from fastbp import MLPClassifier, MLPRegressor
from fastbp._kernels import fits


# (scratch for the sums: protocol.Progress.stack)
@numba.njit
def _numpy_sum(a, index, start, n):
    return fits.numpy_sum(a, index, start, n, np.zeros(256))


@numba.njit
def _zero_weight_batch(weights, rows, cap):
    return fits.zero_weight_batch(weights, rows, cap, np.zeros(256))


@numba.njit
def _score(validation):
    return fits.validation_score(validation, np.zeros(256))


SIZES = [*range(1, 140), 255, 256, 257, 1000, 1001, 4099, 8192, 8193, 20011, 100_003]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_sum_is_numpys_to_the_last_bit(dtype):
    rng = np.random.default_rng(0)
    for n in SIZES:
        a = (rng.standard_normal(n + 5) * 10.0 ** rng.uniform(-4, 4, n + 5)).astype(dtype)
        index = rng.permutation(n + 5)[:n]  # a gathered copy's sum
        assert _numpy_sum(a, index, 0, n) == a[index].sum(), n
        assert _numpy_sum(a, np.arange(n + 5), 3, n) == a[3 : 3 + n].sum(), n


def test_a_batch_of_zero_weights_is_seen_as_reduceat_sees_it():
    rng = np.random.default_rng(1)
    for cap in (1, 7, 8, 150, 200, 300):
        for _ in range(20):
            weights = rng.choice([-1.0, 1.0, 0.5, -0.5, 0.1, -0.1, 0.0], size=3 * cap + 5)
            rows = rng.permutation(weights.shape[0])
            starts = np.arange(0, rows.shape[0], cap)
            numpy_says = not np.add.reduceat(weights[rows], starts).all()
            assert _zero_weight_batch(weights, rows, cap) == numpy_says
            assert _zero_weight_batch(weights.astype(np.float32), rows, cap) == (
                not np.add.reduceat(weights.astype(np.float32)[rows], starts).all()
            )


def _regression_case(rng, n, m, out_dtype, y_dtype, weights):
    y = rng.standard_normal((n, m)) * 3 + 1
    if y_dtype == np.int64:
        y = np.round(y * 10)
    y = y.astype(y_dtype)
    out = (y + rng.standard_normal((n, m))).astype(out_dtype)
    w = None if weights is None else rng.uniform(0, 2, n).astype(weights)
    return y, out, w


@pytest.mark.parametrize("m", [1, 3, 9])
@pytest.mark.parametrize(
    "out_dtype,y_dtype,weights",
    [
        (np.float64, np.float64, None),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, None),
        (np.float32, np.float32, None),
        (np.float32, np.float32, np.float32),
        (np.float32, np.int64, np.float32),
        (np.float64, np.float64, np.float32),
    ],
)
def test_r2_is_scikit_learns_to_the_last_bit(m, out_dtype, y_dtype, weights):
    rng = np.random.default_rng(m)
    est = MLPRegressor()
    est._network = type("N", (), {"dtype": np.dtype(out_dtype)})()
    for n in (2, 7, 129, 300, 9000):
        y, out, w = _regression_case(rng, n, m, out_dtype, y_dtype, weights)
        validation = est._validation(np.arange(n), y, w, m)
        validation.out[:] = out
        expected = r2_score(y if m > 1 else y[:, 0], out if m > 1 else out[:, 0], sample_weight=w)
        assert _score(validation) == expected, (n, m)


def test_r2_of_constant_targets_and_non_finite_predictions():
    est = MLPRegressor()
    est._network = type("N", (), {"dtype": np.dtype(np.float64)})()
    y = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    for out in (y.copy(), y + [[0.5, 0.0]], y + [[0.0, 1.0]]):
        validation = est._validation(np.arange(3), y, None, 2)
        validation.out[:] = out
        assert _score(validation) == r2_score(y, out)
    validation.out[1, 1] = np.inf
    assert np.isnan(_score(validation))  # scikit-learn's MLP scores such outputs NaN


def _classifier(y):
    est = MLPClassifier()
    est._network = type("N", (), {"dtype": np.dtype(np.float64)})()
    from sklearn.preprocessing import LabelBinarizer

    est._label_binarizer = LabelBinarizer().fit(y)
    est.classes_ = est._label_binarizer.classes_
    return est


@pytest.mark.parametrize("weights", [None, np.float64, np.float32])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "one class"])
def test_accuracy_is_scikit_learns_to_the_last_bit(kind, weights):
    rng = np.random.default_rng(0)
    for n in (2, 9, 200, 9000, 20011, 30011, 50021):
        if kind == "multilabel":
            labels = rng.integers(0, 2, (n, 3))
        else:
            classes = {"binary": ["a", "b"], "multiclass": ["x", "y", "z"], "one class": ["u"]}
            labels = rng.choice(classes[kind], n)
        est = _classifier(labels)
        Y = est._label_binarizer.transform(labels).astype(bool)
        out = rng.uniform(0, 1, Y.shape)
        if kind == "multiclass":
            out[:5] = out[:5, :1]  # ties: the first largest
        # (weights of many magnitudes: the order of their sum shows)
        w = None if weights is None else (rng.uniform(0, 2, n) * 10.0 ** rng.uniform(-3, 3, n))
        w = None if w is None else w.astype(weights)
        validation = est._validation(np.arange(n), Y, w, Y.shape[1])
        validation.out[:] = out
        decoded = est._label_binarizer.inverse_transform(out if Y.shape[1] > 1 else out[:, 0])
        assert _score(validation) == accuracy_score(labels, decoded, sample_weight=w), n


def test_validation_weights_summing_to_zero_raise_numpys_error():
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = np.arange(40) % 2
    w = np.ones(40)
    w[::2] = -1.0  # the validation set's weights sum to 0 (stratified: 2 and 2)
    est = MLPClassifier(early_stopping=True, validation_fraction=0.1, random_state=0, max_iter=3)
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y, sample_weight=w)
    assert not hasattr(est, "coefs_")  # nothing kept of the failed fit


def test_epochs_per_call_follow_the_time_they_take():
    from fastbp._solvers import Pace

    pace = Pace(most=1000)
    assert pace.steps() == 1
    pace.took(0.0001, 1)  # fast epochs: at most 4 times as many next
    assert pace.steps() == 4
    pace.took(0.0004, 4)
    assert pace.steps() == 16
    pace.took(1.6, 16)  # slow ones: as many as fit in EPOCHS_CALL_S, at least one
    assert pace.steps() == 1
    one = Pace(most=1)
    one.took(1e-9, 1)
    assert one.steps() == 1


def test_fits_alike_start_at_the_pace_the_last_one_reached():
    from fastbp._solvers import Pace

    first = Pace(most=1000, key="alike")
    for _ in range(3):
        first.took(0.0001 * first.steps(), first.steps())
    assert first.steps() == 64
    assert Pace(most=1000, key="alike").steps() == 64  # not 1
    assert Pace(most=10, key="alike").steps() == 10  # never beyond its own most
    assert Pace(most=1000, key="another").steps() == 1
    slow = Pace(most=1000, key="alike")
    slow.took(1.0, 64)  # slower now: the next fit alike starts lower
    assert Pace(most=1000, key="alike").steps() == 1


@pytest.mark.skipif(
    not hasattr(fits.run_epochs, "py_func"), reason="plain Python epochs take one per call"
)
def test_a_whole_fit_runs_in_few_calls(monkeypatch):
    # The epochs of a fit run in calls of many: count the kernel's calls.
    X = np.random.default_rng(0).standard_normal((150, 4))
    y = np.arange(150) % 3
    calls = []
    real = fits.run_epochs

    def counting(*args):
        calls.append(args[8].epochs)
        return real(*args)

    monkeypatch.setattr(fits, "run_epochs", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(max_iter=400, tol=0, random_state=0).fit(X, y)
    assert est.n_iter_ == 400 and sum(calls) == 400
    assert len(calls) < 40, calls
    calls.clear()  # the same fit again: it starts at the pace the first one reached
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = MLPClassifier(max_iter=400, tol=0, random_state=0).fit(X, y)
    assert calls[0] > 1 and len(calls) < 10, calls
    for a, b in zip(est.coefs_ + est.intercepts_, again.coefs_ + again.intercepts_):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_tiny_networks_fit_as_with_the_batched_kernels(monkeypatch, early_stopping):
    # Plain SGD on single rows of a tiny network trains with a generated kernel (its
    # own run_epochs, which never validates: early stopping takes the batched one);
    # either way, the bits of the batched kernels.
    from fastbp._kernels import generated

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 1)), rng.standard_normal(60)
    params = dict(hidden_layer_sizes=(2,), solver="sgd", batch_size=1, momentum=0,
                  max_iter=30, n_iter_no_change=3, early_stopping=early_stopping)  # fmt: skip

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MLPRegressor(random_state=0, **params).fit(X, y)

    ours = fit()
    monkeypatch.setattr(generated, "eligible", lambda sizes: False)
    batched = fit()
    assert ours.n_iter_ == batched.n_iter_ and ours.loss_curve_ == batched.loss_curve_
    assert ours.validation_scores_ == batched.validation_scores_
    for a, b in zip(ours.coefs_ + ours.intercepts_, batched.coefs_ + batched.intercepts_):
        assert np.array_equal(a, b)
