"""Every kernel against the naive NumPy reference, and against finite differences."""

import itertools
import zlib

import numpy as np
import pytest

from fastbp import Network
from fastbp._tables import HIDDEN_ACTIVATIONS, LOSS_OUTPUTS

import naive

PAIRS = [(loss, out) for loss, outs in LOSS_OUTPUTS.items() for out in outs]
DEPTHS = {1: [3, 2], 2: [3, 4, 2], 3: [3, 5, 4, 2], 4: [2, 4, 3, 5, 3]}


def make_data(sizes, n, loss, output, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, sizes[0]))
    k = sizes[-1]
    if loss == "log_loss" and output == "softmax":
        Y = np.eye(k)[rng.randint(k, size=n)]
    elif loss == "log_loss":
        Y = rng.randint(2, size=(n, k)).astype(float)
    elif loss == "poisson":
        Y = rng.poisson(1.5, size=(n, k)).astype(float)
    else:
        Y = rng.normal(size=(n, k))
    sw = rng.uniform(0.5, 2.0, size=n)
    return X, Y, sw


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("n", [1, 7])
@pytest.mark.parametrize("hidden", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("loss,output", PAIRS)
def test_forward_loss_gradient_match_the_reference(loss, output, hidden, n, depth, dtype):
    sizes = DEPTHS[depth]
    seed = zlib.crc32(f"{loss}{output}{hidden}{n}{depth}".encode())
    X, Y, sw = make_data(sizes, n, loss, output, seed)
    net = Network(sizes, hidden, output, dtype=dtype, random_state=seed)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=1e-5)

    out = net.forward(X)
    assert out.dtype == dtype and out.shape == (n, sizes[-1])
    ref_out = naive.forward(net.params, sizes, X, hidden, output)[1][-1]
    np.testing.assert_allclose(out, ref_out, **tol)

    for weights, alpha in [(None, 0.0), (sw, 0.3)]:
        value, grad = net.loss_gradient(X, Y, loss, sample_weight=weights, alpha=alpha)
        assert grad.dtype == dtype and grad.shape == net.params.shape
        ref_value, ref_grad = naive.loss_gradient(
            net.params, sizes, X, Y, hidden, output, loss, weights, alpha
        )
        np.testing.assert_allclose(value, ref_value, **tol)
        np.testing.assert_allclose(grad, ref_grad, **tol)


def central_differences(net, X, Y, loss, sw, alpha, h=1e-5):
    """d loss / d params by central differences, one coordinate at a time."""
    p0 = net.params.copy()
    fd = np.empty_like(p0)
    for q in range(p0.size):
        net.params[q] = p0[q] + h
        up, _ = net.loss_gradient(X, Y, loss, sample_weight=sw, alpha=alpha)
        net.params[q] = p0[q] - h
        down, _ = net.loss_gradient(X, Y, loss, sample_weight=sw, alpha=alpha)
        net.params[q] = p0[q]
        fd[q] = (up - down) / (2 * h)
    return fd


@pytest.mark.parametrize("hidden,pair", list(itertools.product(sorted(HIDDEN_ACTIVATIONS), PAIRS)))
def test_gradient_matches_central_differences(hidden, pair):
    loss, output = pair
    sizes = [3, 4, 3, 2]
    X, Y, sw = make_data(sizes, 5, loss, output, seed=1)
    net = Network(sizes, hidden, output, random_state=2)
    if hidden in ("relu", "leaky_relu"):
        # keep every hidden pre-activation away from the kink at 0
        net.intercepts[0][:] += 0.05
    _, grad = net.loss_gradient(X, Y, loss, sample_weight=sw, alpha=0.1)
    fd = central_differences(net, X, Y, loss, sw, 0.1)
    rel = np.linalg.norm(grad - fd) / np.linalg.norm(fd)
    assert rel <= 1e-7, rel
