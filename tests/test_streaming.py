"""Streaming with partial_fit: a model fed chunk by chunk ends where ``fit`` ends.

What partial_fit does (fastbp's ``_base.BaseMLP._fit`` with ``incremental=True``,
exactly scikit-learn 1.9's ``BaseMultilayerPerceptron._fit``): one epoch over the
chunk it is given, in minibatches of ``batch_size`` rows counted from the chunk's
first row, continuing the optimizer (SGD velocity or Adam moments and step count)
from the previous call. So the stream reproduces a ``fit`` epoch over the same rows
in the same order provided that:

- ``shuffle=False``. Each call re-seeds its RandomState from ``random_state``, so
  with ``shuffle=True`` every chunk would be shuffled by the same permutation, not
  the rows by one permutation of them all. Shuffle the stream instead.
- every chunk's length is a multiple of ``batch_size`` (the chunks may differ in
  length). A chunk's last batch ends at the chunk's end: with other lengths the
  stream takes short batches, hence other steps, where ``fit`` does not. For the
  same reason ``batch_size`` is an integer here: "auto" means min(200, rows) of
  each call's rows.
- a learning-rate schedule that does not act between epochs: "constant" SGD, or
  Adam. "invscaling" updates the rate after each call (each chunk) and "adaptive"
  judges the loss after each call, where ``fit`` does both once per epoch.

Then the weights, the optimizer's step count ``t_`` and the predictions are
equal bit for bit; the epoch's loss (``fit``'s ``loss_curve_[0]``) is the
row-weighted mean of the chunks' losses (one ``loss_curve_`` entry per call) up to
rounding; ``n_iter_`` is 1 after every call (each call restarts it), where
``fit``'s counts its epochs. Passing over the stream k times
ends where ``fit(max_iter=k)`` does. The same holds, to the same digits, for
scikit-learn's own MLPs, which these tests check too.
"""

import warnings

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastbp

BATCH = 10
CHUNKS = [40, 20, 60, 30, 50]  # multiples of BATCH, uneven on purpose: 200 rows
N_ROWS = sum(CHUNKS)

CASES = {
    "regressor-adam": ("MLPRegressor", dict(solver="adam")),
    "regressor-sgd-nesterov": (
        "MLPRegressor",
        dict(solver="sgd", learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True),
    ),
    "classifier-adam-3-classes": ("MLPClassifier", dict(solver="adam", alpha=1e-2)),
    "classifier-sgd-momentum": (
        "MLPClassifier",
        dict(solver="sgd", learning_rate_init=0.05, momentum=0.5, nesterovs_momentum=False),
    ),
}


def make_data(kind, n=N_ROWS, dtype=np.float64):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 5).astype(dtype)
    if kind == "MLPRegressor":
        y = (X[:, 0] - 2 * X[:, 1] * X[:, 2] + 0.1 * rng.randn(n)).astype(dtype)
    else:
        y = np.digitize(X[:, 0] + X[:, 1] ** 2, [0.0, 1.5])  # classes 0, 1, 2
    return X, y


def model(module, kind, params, **extra):
    return getattr(module, kind)(
        hidden_layer_sizes=(8, 6),
        batch_size=BATCH,
        shuffle=False,
        random_state=0,
        **params,
        **extra,
    )


def stream(est, X, y, chunks, passes=1, sample_weight=None):
    """partial_fit over consecutive chunks of X, y (``passes`` times over them all)."""
    extra = {"classes": np.unique(y)} if hasattr(est, "predict_proba") else {}
    for _ in range(passes):
        start = 0
        for size in chunks:
            rows = slice(start, start + size)
            sw = None if sample_weight is None else sample_weight[rows]
            est.partial_fit(X[rows], y[rows], sample_weight=sw, **extra)
            extra = {}
            start += size
    return est


def fit_epochs(est, X, y, epochs, sample_weight=None):
    est.set_params(max_iter=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached, on purpose
        return est.fit(X, y, sample_weight=sample_weight)


def assert_same_end(streamed, fitted, X, chunks, passes):
    for a, b in zip(streamed.coefs_ + streamed.intercepts_, fitted.coefs_ + fitted.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert streamed.t_ == fitted.t_ == passes * X.shape[0]
    assert streamed.n_iter_ == 1 and fitted.n_iter_ == passes
    assert len(streamed.loss_curve_) == passes * len(chunks)
    # Each call's loss is its chunk's mean: weighted by rows, they make the epoch's.
    losses = np.reshape(streamed.loss_curve_, (passes, len(chunks)))
    np.testing.assert_allclose(losses @ chunks / X.shape[0], fitted.loss_curve_, rtol=1e-12)
    np.testing.assert_array_equal(streamed.predict(X), fitted.predict(X))


@pytest.mark.parametrize("module", [fastbp, sk], ids=["fastbp", "sklearn"])
@pytest.mark.parametrize("passes", [1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_a_stream_of_chunks_ends_where_fit_epochs_end(case, passes, module):
    kind, params = CASES[case]
    X, y = make_data(kind)
    streamed = stream(model(module, kind, params), X, y, CHUNKS, passes)
    fitted = fit_epochs(model(module, kind, params), X, y, passes)
    assert_same_end(streamed, fitted, X, CHUNKS, passes)


def test_sample_weights_and_float32_stream_too():
    X, y = make_data("MLPRegressor", dtype=np.float32)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, X.shape[0])
    kind, params = CASES["regressor-adam"]
    streamed = stream(model(fastbp, kind, params), X, y, CHUNKS, sample_weight=sw)
    fitted = fit_epochs(model(fastbp, kind, params), X, y, 1, sample_weight=sw)
    assert streamed.coefs_[0].dtype == np.float32
    for a, b in zip(streamed.coefs_ + streamed.intercepts_, fitted.coefs_ + fitted.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_out_of_core_stream_from_a_file_on_disk(tmp_path):
    """Rows read chunk by chunk from a memory-mapped .npy never sit in memory whole,
    and train what an in-memory fit epoch trains."""
    X, y = make_data("MLPClassifier")
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    X_disk = np.load(tmp_path / "X.npy", mmap_mode="r")
    y_disk = np.load(tmp_path / "y.npy", mmap_mode="r")
    kind, params = CASES["classifier-adam-3-classes"]
    streamed = stream(model(fastbp, kind, params), X_disk, y_disk, CHUNKS)
    fitted = fit_epochs(model(fastbp, kind, params), X, y, 1)
    assert_same_end(streamed, fitted, X, CHUNKS, 1)


def test_fastbp_streams_as_sklearn_streams():
    """The chunked runs of fastbp and scikit-learn agree as their fits do (1e-9)."""
    for kind, params in CASES.values():
        X, y = make_data(kind)
        ours = stream(model(fastbp, kind, params), X, y, CHUNKS)
        theirs = stream(model(sk, kind, params), X, y, CHUNKS)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_chunk_ends_off_batch_boundaries_make_other_steps():
    """Why the chunk lengths above are multiples of batch_size: a 45-row chunk ends
    in a 5-row batch, a step that fit's epoch does not take."""
    kind, params = CASES["regressor-adam"]
    X, y = make_data(kind)
    ragged = [45, 55, 100]
    streamed = stream(model(fastbp, kind, params), X, y, ragged)
    fitted = fit_epochs(model(fastbp, kind, params), X, y, 1)
    assert streamed.t_ == fitted.t_  # the same rows, once each...
    assert not np.allclose(streamed.coefs_[0], fitted.coefs_[0], rtol=1e-6)  # ...other steps
