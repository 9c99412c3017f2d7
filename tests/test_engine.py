"""The compiled kernels: layer products, optimizer steps, whole epochs, allocations."""

import numpy as np
import pytest
from numba.core.config import DISABLE_JIT
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from fastbp import Network
from fastbp._backward import backprop_messages, weight_grad
from fastbp._config import BLAS_MIN_FLOPS
from fastbp._data import kernel_data
from fastbp._engine import run_epoch
from fastbp._forward import affine
from fastbp._layout import work_buffers
from fastbp._optimizers import adam_step, sgd_step
from fastbp._tables import ADAM, SGD, SQUARED_ERROR


@pytest.mark.parametrize("n", [1, 3, 600])  # below and above the BLAS crossover
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_products_both_paths(n, dtype):
    k, m = 9, 11
    assert (n * k * m >= BLAS_MIN_FLOPS) == (n == 600)
    rng = np.random.RandomState(n)
    A, W, b = rng.randn(n, k), rng.randn(k, m), rng.randn(m)
    A[A < -1] = 0  # zeros take the skip branch of the loops
    D = rng.randn(n, m)
    A, W, b, D = (a.astype(dtype) for a in (A, W, b, D))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    Z = np.empty((n, m), dtype)
    affine(A, W, b, Z)
    np.testing.assert_allclose(Z, A @ W + b, rtol=tol, atol=tol)
    gW, gb, tmp = np.empty((k, m), dtype), np.empty(m, dtype), np.empty(k * m, dtype)
    weight_grad(A, D, gW, gb, tmp, False)
    np.testing.assert_allclose(gW, A.T @ D, rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, D.sum(0), rtol=tol, atol=tol)
    weight_grad(A, D, gW, gb, tmp, True)  # accumulate
    np.testing.assert_allclose(gW, 2 * A.T @ D, rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, 2 * D.sum(0), rtol=tol, atol=tol)
    D_prev = np.empty((n, k), dtype)
    backprop_messages(D, W, D_prev)
    np.testing.assert_allclose(D_prev, D @ W.T, rtol=tol, atol=tol)


def sklearn_params(p):
    """Split a flat vector in two parts, as lists that sklearn's optimizers accept."""
    return [p[:5], p[5:]]


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_step_is_sklearns(momentum, nesterov):
    rng = np.random.RandomState(0)
    params = rng.randn(8)
    ours, velocity = params.copy(), np.zeros(8)
    theirs = sklearn_params(params.copy())
    opt = SGDOptimizer(theirs, 0.05, "constant", momentum, nesterov)
    for _ in range(4):
        grad = rng.randn(8)
        sgd_step(ours, grad, velocity, 0.05, momentum, nesterov)
        opt.update_params(theirs, sklearn_params(grad))
    np.testing.assert_allclose(ours, np.concatenate(theirs), rtol=1e-15)


def test_adam_step_is_sklearns():
    rng = np.random.RandomState(0)
    params = rng.randn(8)
    ours, m, v = params.copy(), np.zeros(8), np.zeros(8)
    theirs = sklearn_params(params.copy())
    opt = AdamOptimizer(theirs, 0.01, 0.8, 0.99, 1e-7)
    for t in range(1, 5):
        grad = rng.randn(8)
        adam_step(ours, grad, m, v, t, 0.01, 0.8, 0.99, 1e-7)
        opt.update_params(theirs, sklearn_params(grad))
    np.testing.assert_allclose(ours, np.concatenate(theirs), rtol=1e-14)


def epoch_args(net, X, Y, sw, idx, batch, solver, state, alpha=0.0):
    acts, deltas = work_buffers(net.layer_sizes, batch, net.dtype)
    grad = np.empty_like(net.params)
    tmp = np.empty(net.params.size, net.dtype)
    return (
        kernel_data(X, net.dtype),
        Y,
        sw,
        idx,
        batch,
        net.params,
        net.layer_sizes,
        net._hidden,
        net._out,
        SQUARED_ERROR,
        alpha,
        1.0,
        solver,
        0.01,
        0.9,
        True,
        0.9,
        0.999,
        1e-8,
        0,
        state,
        acts,
        deltas,
        grad,
        tmp,
    )


@pytest.mark.parametrize("solver", [SGD, ADAM])
def test_epoch_equals_minibatch_steps_through_the_api(solver):
    rng = np.random.RandomState(0)
    X, Y, sw = rng.randn(23, 4), rng.randn(23, 2), rng.uniform(0.5, 2, 23)
    idx = rng.permutation(23).astype(np.int64)
    net = Network([4, 6, 2], "tanh", random_state=0)
    ref = Network([4, 6, 2], "tanh", random_state=0)
    state = np.zeros((2, net.params.size))
    total, t = run_epoch(*epoch_args(net, X, Y, sw, idx, 5, solver, state, alpha=0.1))

    params = [ref.params.copy()]  # one flat piece: sklearn's optimizers take lists
    opt = (
        AdamOptimizer(params, 0.01, 0.9, 0.999, 1e-8)
        if solver == ADAM
        else SGDOptimizer(params, 0.01, "constant", 0.9, True)
    )
    expected_total = 0.0
    for start in range(0, 23, 5):
        rows = idx[start : start + 5]
        ref.params = params[0]
        loss, grad = ref.loss_gradient(X[rows], Y[rows], sample_weight=sw[rows], alpha=0.1)
        expected_total += loss * len(rows)
        opt.update_params(params, [grad])
    assert t == (5 if solver == ADAM else 0)
    np.testing.assert_allclose(net.params, params[0], rtol=1e-12)
    np.testing.assert_allclose(total, expected_total, rtol=1e-12)


@pytest.mark.skipif(DISABLE_JIT, reason="counts allocations of compiled code")
@pytest.mark.parametrize("sizes", [[3, 5, 1], [64, 128, 64, 10]])
def test_no_allocation_inside_the_epoch_loop(sizes):
    from numba.core.runtime import _nrt_python, rtsys

    _nrt_python.memsys_enable_stats()
    net = Network(sizes, "relu", random_state=0)
    rng = np.random.RandomState(0)

    def allocations(n_samples, epochs):
        X, Y = rng.randn(n_samples, sizes[0]), rng.randn(n_samples, sizes[-1])
        sw, idx = np.ones(n_samples), np.arange(n_samples, dtype=np.int64)
        for solver in (SGD, ADAM):
            args = epoch_args(net, X, Y, sw, idx, 32, solver, np.zeros((2, net.params.size)))
            run_epoch(*args)  # compile and warm up outside the count
            before = rtsys.get_allocation_stats().alloc
            for _ in range(epochs):
                run_epoch(*args)
            yield rtsys.get_allocation_stats().alloc - before

    # Passing arrays in from Python wraps each in a MemInfo (one "allocation"
    # per array argument and call); nothing else may be counted.
    few = list(allocations(64, 1))  # 2 minibatches, 1 epoch
    many = list(allocations(640, 5))  # 20 minibatches, 5 epochs
    n_array_args = 14  # X's four arrays, Y, sw, idx, params, sizes, state, 4 buffers
    assert few == [n_array_args] * 2
    assert many == [5 * n_array_args] * 2
