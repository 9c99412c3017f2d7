"""The generated straight-line kernels of tiny networks (fastbp/_kernels/generated.py): the
same bits as the batched kernel they stand in for (where its products take loops),
picked when they apply, and scikit-learn's numbers through the estimators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastbp
from fastbp import Network
from fastbp._kernels import generated as _unrolled
from fastbp._kernels.codes import SGD
from fastbp._kernels.config import BLAS_MIN_FLOPS
from fastbp._kernels.epochs import run_epoch
from fastbp._tables import HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS

from helpers import epoch_groups
from helpers import pick_epoch_kernel as epoch_kernel

# Every hidden activation and every pair of output activation and loss, on shapes
# with one and two hidden layers, one output and several.
NETWORKS = [
    ([1, 2, 1], "logistic", "identity", "squared_error"),  # the seed network
    ([3, 4, 2], "tanh", "softmax", "log_loss"),
    ([2, 3, 3, 1], "relu", "logistic", "log_loss"),
    ([4, 5, 1], "softplus", "exp", "poisson"),
    ([2, 4, 2], "leaky_relu", "logistic", "squared_error"),  # output delta by the chain rule
    ([3, 3, 3], "identity", "softmax", "squared_error"),
]


def codes(hidden, out, loss):
    return HIDDEN_ACTIVATIONS[hidden], OUTPUT_ACTIVATIONS[out], LOSSES[loss]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes,hidden,out,loss", NETWORKS, ids=lambda v: str(v))
def test_generated_kernel_gives_the_batched_kernels_bits(sizes, hidden, out, loss, dtype):
    kernel = epoch_kernel(sizes, 1, *codes(hidden, out, loss), True)
    assert kernel is not run_epoch
    # (every product for one row below the BLAS switch: the batched kernel's loops)
    assert all(a * b < BLAS_MIN_FLOPS for a, b in zip(sizes[:-1], sizes[1:]))
    rng = np.random.RandomState(len(sizes))
    n = 17
    X = rng.randn(n, sizes[0])
    X[X < 0.2] = 0  # zeros, stored or not
    Y = rng.uniform(0, 1, (n, sizes[-1]))  # valid targets for every loss
    idx = rng.permutation(n).astype(np.int64)
    for sparse in (False, True):
        for sw in (np.ones(n), rng.uniform(0.5, 2, n)):
            for alpha in (0.0, 0.1):
                nets = [Network(sizes, hidden, out, random_state=0, dtype=dtype) for _ in "ab"]
                results = []
                for net, epoch in zip(nets, [run_epoch, kernel], strict=True):
                    data = sp.csr_matrix(X) if sparse else X.astype(dtype)
                    args = epoch_groups(net, data, Y.astype(dtype), sw.astype(dtype), idx, 1,
                                        np.zeros((1, 0), dtype), SGD, alpha, 0.0, LOSSES[loss],
                                        0.5, 0.05)  # fmt: skip
                    results += [epoch(*args) for _ in range(3)]
                np.testing.assert_array_equal(nets[1].params, nets[0].params)
                assert np.isfinite(nets[1].params).all()
                assert results[3:] == results[:3]
                assert results[0][0] != results[2][0]  # the loss moved: training happened


def test_generated_kernel_refuses_what_it_does_not_do():
    kernel = epoch_kernel([1, 2, 1], 1, *codes("logistic", "identity", "squared_error"), True)
    net = Network([1, 2, 1], "logistic")
    X, Y = np.ones((4, 1)), np.ones((4, 1))
    for batch, momentum in [(2, 0.0), (1, 0.9)]:
        args = epoch_groups(net, X, Y, np.ones(4), np.arange(4), batch, np.zeros((1, 0)), SGD,
                            0.0, momentum, lr=0.1)  # fmt: skip
        with pytest.raises(ValueError, match="plain SGD on batches of one row"):
            kernel(*args)


@pytest.mark.parametrize(
    "sizes,batch,plain_sgd,generated",
    [
        ([1, 2, 1], 1, True, True),
        ([4, 8, 1], 1, True, True),  # 49 parameters
        ([1, 2, 1], 1, False, False),  # momentum or Adam: the batched kernel
        ([1, 2, 1], 2, True, False),  # batches of two rows
        ([1, 30, 1], 1, True, False),  # 91 parameters, over MAX_PARAMS
        ([1, 2, 2, 1], 1, True, True),  # two hidden layers
        ([1, 2, 2, 2, 1], 1, True, False),  # three, over MAX_HIDDEN_LAYERS
    ],
)
def test_epoch_kernel_picks_a_generated_kernel(sizes, batch, plain_sgd, generated):
    assert _unrolled.MAX_PARAMS == 64 and _unrolled.MAX_HIDDEN_LAYERS == 2  # as the cases say
    kernel = epoch_kernel(sizes, batch, 1, 0, 0, plain_sgd)
    assert (kernel is not run_epoch) is generated
    assert epoch_kernel(sizes, batch, 1, 0, 0, plain_sgd) is kernel  # made once


def test_generated_source_is_one_statement_per_step():
    text = _unrolled.source((1, 2, 1), *codes("logistic", "identity", "squared_error"))
    compile(text, "generated", "exec")
    # seven parameters, each loaded, stepped, stored once; the hidden layer's two
    # messages; the hidden layer's activation and its derivative, the loss, by name
    # (none for the identity output)
    assert text.count(" = swept(") + text.count(" = stepped(") == 7
    assert text.count("    params[") == 7 + 4  # the end, and before the L2 term
    assert text.count("message += ") == 2
    assert text.count("logistic(acts,") == text.count("logistic_derivative(acts,") == 1
    assert text.count("squared_error(acts,") == 1 and "activate" not in text


def test_source_dir_follows_numba_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert _unrolled.source_dir() == tmp_path / "numba" / "fastbp_generated"
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocked))
    assert not _unrolled.source_dir().is_relative_to(blocked)  # the next place instead


def test_nowhere_to_write_trains_with_the_batched_kernel(monkeypatch):
    def nowhere():
        raise OSError("read-only everywhere")

    monkeypatch.setattr(_unrolled, "source_dir", nowhere)
    with pytest.warns(RuntimeWarning, match="read-only everywhere"):
        kernel = epoch_kernel([1, 3, 1], 1, 1, 0, 2, True)  # (not made before in this run)
    assert kernel is run_epoch


def test_module_file_is_rewritten_unless_it_holds_the_text(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    text = _unrolled.source((1, 2, 1), *codes("logistic", "identity", "squared_error"))
    path = _unrolled.module_file(text)
    assert path.parent == tmp_path / "fastbp_generated" and path.read_text() == text
    path.write_text("import os  # planted, or a torn write\n")
    assert _unrolled.module_file(text) == path and path.read_text() == text
    other = _unrolled.module_file(text.replace("(1, 2, 1)", "(1, 2, 2)"))
    assert other != path  # a name per text
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, other.name])


# Through the estimators: plain SGD on batches of one row, tiny networks.
@pytest.mark.parametrize(
    "cls,hidden,kind",
    [("MLPRegressor", (2,), "seed"), ("MLPRegressor", (3,), "regression"),
     ("MLPClassifier", (3,), "binary"), ("MLPClassifier", (3,), "multiclass")],
)  # fmt: skip
def test_estimators_match_scikit_learn(cls, hidden, kind):
    rng = np.random.RandomState(0)
    n_features = 1 if kind == "seed" else 5
    X = rng.randn(60, n_features)
    if kind in ("seed", "regression"):
        y = np.tanh(X.sum(axis=1))
    else:
        y = (X[:, 0] > 0).astype(int) + (kind == "multiclass") * (X[:, 1] > 0.5)
    params = dict(hidden_layer_sizes=hidden, activation="logistic", solver="sgd", momentum=0.0,
                  batch_size=1, learning_rate_init=0.05, max_iter=8, random_state=1)  # fmt: skip
    ours, theirs = getattr(fastbp, cls)(**params), getattr(sk, cls)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    sizes = [n_features, *hidden, ours.n_outputs_]
    assert _unrolled.eligible(sizes)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
