"""fastbp.Network: the flat buffer, its views, initialisation, dtypes and validation."""

import pickle

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

from fastbp import Network


def test_params_is_one_buffer_with_views_in_sklearn_pack_order():
    net = Network([3, 4, 2], random_state=0)
    assert net.params.ndim == 1 and net.params.flags.c_contiguous
    assert net.params.size == 3 * 4 + 4 * 2 + 4 + 2
    assert [c.shape for c in net.coefs] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.intercepts] == [(4,), (2,)]
    packed = np.hstack([a.ravel() for a in net.coefs + net.intercepts])
    np.testing.assert_array_equal(net.params, packed)
    for view in net.coefs + net.intercepts:
        assert np.shares_memory(view, net.params)
    # writing through a view changes params, and the other way round
    net.coefs[1][2, 1] = 42.0
    assert net.params[12 + 2 * 2 + 1] == 42.0
    net.params[-1] = -7.0
    assert net.intercepts[1][1] == -7.0
    # one SGD step in place keeps the views
    before = net.params.copy()
    net.params -= 0.5 * np.ones_like(net.params)
    np.testing.assert_array_equal(net.coefs[0].ravel(), before[:12] - 0.5)
    net.params = np.zeros_like(net.params)
    assert not net.coefs[0].any()


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initialisation_is_sklearns(activation, dtype):
    sizes = [5, 7, 3, 2]
    net = Network(sizes, activation, dtype=dtype, random_state=42)
    ref = MLPRegressor(activation=activation)
    ref._random_state = np.random.RandomState(42)
    expected = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        expected.append(ref._init_coef(fan_in, fan_out, dtype))
    for i, (coef, intercept) in enumerate(expected):
        assert net.coefs[i].dtype == dtype
        np.testing.assert_array_equal(net.coefs[i], coef)
        np.testing.assert_array_equal(net.intercepts[i], intercept)


def test_random_state_forms():
    a = Network([2, 3, 1], random_state=3).params
    b = Network([2, 3, 1], random_state=np.random.RandomState(3)).params
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(Network([2, 3, 1]).params, Network([2, 3, 1]).params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_in_dtype_out(dtype):
    net = Network([4, 6, 3], "tanh", "softmax", dtype=dtype, random_state=0)
    X = np.random.RandomState(0).rand(10, 4).astype(dtype)
    Y = np.eye(3)[np.arange(10) % 3].astype(dtype)
    out = net.forward(X)
    loss, grad = net.loss_gradient(X, Y, "log_loss")
    assert out.dtype == dtype and grad.dtype == dtype and net.params.dtype == dtype
    assert isinstance(loss, float)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)


def test_inputs_are_not_modified():
    net = Network([3, 5, 2], random_state=0)
    rng = np.random.RandomState(0)
    X, Y, sw = rng.rand(8, 3), rng.rand(8, 2), rng.rand(8) + 0.1
    copies = [a.copy() for a in (X, Y, sw)]
    for a in (X, Y, sw):
        a.setflags(write=False)
    net.forward(X)
    net.loss_gradient(X, Y, sample_weight=sw, alpha=1.0)
    for a, c in zip((X, Y, sw), copies):
        np.testing.assert_array_equal(a, c)


def test_any_memory_order_and_large_batches():
    net = Network([6, 9, 2], random_state=0)
    X = np.random.RandomState(1).rand(5000, 6)
    expected = net.forward(X)
    np.testing.assert_array_equal(net.forward(np.asfortranarray(X)), expected)
    # rows land in other chunks: BLAS may sum in another order
    np.testing.assert_allclose(net.forward(X[::-1])[::-1], expected, rtol=1e-12)
    # chunked full-batch gradient equals one computed on each half
    Y = np.random.RandomState(2).rand(5000, 2)
    loss, grad = net.loss_gradient(X, Y)
    l1, g1 = net.loss_gradient(X[:2500], Y[:2500])
    l2, g2 = net.loss_gradient(X[2500:], Y[2500:])
    np.testing.assert_allclose(loss, (l1 + l2) / 2, rtol=1e-12)
    np.testing.assert_allclose(grad, (g1 + g2) / 2, rtol=1e-9, atol=1e-15)


def test_pickle_round_trip_keeps_views():
    net = Network([3, 4, 1], "softplus", random_state=0)
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.params, net.params)
    X = np.random.RandomState(0).rand(4, 3)
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))
    clone.coefs[0][0, 0] = 9.0
    assert clone.params[0] == 9.0 and net.params[0] != 9.0


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(layer_sizes=[3]), "input and an output"),
        (dict(layer_sizes=[3, 0, 1]), ">= 1"),
        (dict(layer_sizes=[3, 2.5, 1]), ">= 1"),
        (dict(layer_sizes=5), "sequence"),
        (dict(layer_sizes=[2, 1], activation="swish"), "Unknown activation"),
        (dict(layer_sizes=[2, 1], activation="softmax"), "Unknown activation"),
        (dict(layer_sizes=[2, 1], output_activation="tanh"), "Unknown output_activation"),
        (dict(layer_sizes=[2, 1], dtype=np.int32), "float32 or float64"),
        (dict(layer_sizes=[2, 1], dtype="float16"), "float32 or float64"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda net, X, Y: net.forward(X[:, :2]), "2 features, but the network expects 3"),
        (lambda net, X, Y: net.forward(X[0]), "2-D"),
        (lambda net, X, Y: net.forward(np.where(X > 0.5, np.nan, X)), "NaN"),
        (lambda net, X, Y: net.forward(np.where(X > 0.5, np.inf, X)), "NaN or inf"),
        (lambda net, X, Y: net.forward([["a", "b", "c"]]), "numeric"),
        (lambda net, X, Y: net.loss_gradient(X, Y[:3]), r"shape \(4, 2\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y[:, :1]), r"shape \(4, 2\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y * np.nan), "y contains NaN"),
        (lambda net, X, Y: net.loss_gradient(X, Y, loss="hinge"), "Unknown loss"),
        (lambda net, X, Y: net.loss_gradient(X, Y, loss="log_loss"), "cannot be used"),
        (lambda net, X, Y: net.loss_gradient(X, Y, alpha=-1), "alpha"),
        (lambda net, X, Y: net.loss_gradient(X, Y, sample_weight=[1, 2]), r"\(4,\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y, sample_weight=-np.ones(4)), ">= 0"),
        (lambda net, X, Y: net.loss_gradient(X[:0], Y[:0]), "0 samples"),
    ],
)
def test_bad_call_arguments(call, message):
    net = Network([3, 4, 2], random_state=0)
    X = np.random.RandomState(0).rand(4, 3)
    Y = np.random.RandomState(1).rand(4, 2)
    with pytest.raises(ValueError, match=message):
        call(net, X, Y)
