"""Numerics at the extremes: activations and losses stay finite and correct for
pre-activations up to +-1e4 in both dtypes, without warnings."""

import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax

from fastbp import Network

Z = np.array([-1e4, -800.0, -100.0, -30.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 30.0, 100.0, 800.0, 1e4])
REFERENCE = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "softplus": lambda z: np.logaddexp(0, z),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
}
TOL = {np.float64: 1e-14, np.float32: 1e-6}


@pytest.fixture(autouse=True)
def no_warnings():
    # numpy's overflow / invalid / divide warnings become errors
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_hidden_activations_at_the_extremes(name, dtype):
    # out = 1 * f(1 * z + 0) + 0: the network's output is the activation itself
    net = Network([1, 1, 1], activation=name, dtype=dtype)
    net.params[:] = [1, 1, 0, 0]
    z = Z.astype(dtype)
    with np.errstate(all="ignore"):
        ref = REFERENCE[name](z.astype(np.float64)).astype(dtype)
    out = net.forward(z[:, None])[:, 0]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref, rtol=TOL[dtype], atol=1e-300)
    # gradients through the activation stay finite too
    _, grad = net.loss_gradient(z[:, None], np.zeros(len(z), dtype))
    assert np.isfinite(grad).all() or name in ("identity", "relu", "leaky_relu", "softplus")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_and_log_loss_at_the_extremes(dtype):
    net = Network([3, 3], output_activation="softmax", dtype=dtype)
    net.params[:] = np.concatenate([np.eye(3).ravel(), np.zeros(3)])
    X = np.array([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [0, 1e-8, -1e-8]])
    X = X.astype(dtype)
    p = net.forward(X)
    np.testing.assert_allclose(p, softmax(X.astype(float), axis=1), rtol=TOL[dtype], atol=1e-30)
    Y = np.eye(3)[[1, 0, 2, 1]].astype(dtype)
    loss, grad = net.loss_gradient(X, Y, "log_loss")
    eps = np.finfo(dtype).eps
    p_ref = np.clip(softmax(X.astype(float), axis=1), eps, 1 - eps)
    expected = -np.mean(np.sum(Y * np.log(p_ref), axis=1))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_log_loss_at_the_extremes(dtype):
    net = Network([1, 1], output_activation="logistic", dtype=dtype)
    net.params[:] = [1, 0]
    z = Z.astype(dtype)[:, None]
    for target in (0.0, 1.0):
        y = np.full(len(Z), target, dtype)
        loss, grad = net.loss_gradient(z, y, "log_loss")
        assert np.isfinite(loss) and np.isfinite(grad).all()
        eps = np.finfo(dtype).eps
        with np.errstate(all="ignore"):
            p = np.clip(expit(Z), eps, 1 - eps)
        ref = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
        np.testing.assert_allclose(loss, ref, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_output_and_poisson_loss_saturate_instead_of_overflowing(dtype):
    net = Network([1, 1], output_activation="exp", dtype=dtype)
    net.params[:] = [1, 0]
    z = Z.astype(dtype)[:, None]
    p = net.forward(z)[:, 0]
    assert np.isfinite(p).all() and (p > 0).all()
    inside = np.abs(Z) <= 80
    np.testing.assert_allclose(p[inside], np.exp(Z[inside]), rtol=TOL[dtype] * 10)
    assert p[-1] > np.finfo(dtype).max / 10  # saturated, not inf
    y = np.full(len(Z), 2.0, dtype)
    loss, grad = net.loss_gradient(z[inside], y[inside], "poisson")
    ref = np.mean(2 * np.log(2 / np.exp(Z[inside])) - 2 + np.exp(Z[inside]))
    np.testing.assert_allclose(loss, ref, rtol=1e-5)
    loss, grad = net.loss_gradient(z[:4], y[:4], "poisson")  # z = -1e4 ... -30
    assert np.isfinite(loss) and np.isfinite(grad).all()
