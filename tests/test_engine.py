"""The compiled kernels: layer products, optimizer steps, whole epochs, allocations."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from numba.core.config import DISABLE_JIT
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from fastbp import MLPRegressor, Network
from fastbp._kernels.backward import backprop_messages, weight_grad
from fastbp._kernels.blas import matmul
from fastbp._kernels.codes import ADAM, SGD
from fastbp._kernels.config import BLAS_MIN_FLOPS
from fastbp._kernels.epochs import run_epoch
from fastbp._kernels.forward import affine
from fastbp._kernels.optimizers import adam_step, sgd_step

from helpers import epoch_groups, pick_epoch_kernel


@pytest.mark.parametrize("n,k,m", [(1, 2, 3), (2, 5, 7), (600, 9, 11)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_products_both_paths(n, k, m, dtype):
    # the first shape runs the loops, the last one BLAS
    assert 1 * 2 * 3 < BLAS_MIN_FLOPS <= 600 * 9 * 11
    rng = np.random.RandomState(n)
    A, W, b = rng.randn(n, k), rng.randn(k, m), rng.randn(m)
    A[A < -1] = 0  # zeros take the skip branch of the loops
    D = rng.randn(n, m)
    A, W, b, D = (a.astype(dtype) for a in (A, W, b, D))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    # flat buffers with the blocks at offsets, as the kernels see them
    acts = np.concatenate([[7], A.ravel(), np.empty(n * m)]).astype(dtype)
    params = np.concatenate([[7, 7], W.ravel(), b]).astype(dtype)
    a_off, z_off, w_off, b_off = 1, 1 + n * k, 2, 2 + k * m
    tmp, stack = np.empty(k * m, dtype), np.zeros(256)
    affine(acts, a_off, z_off, params, w_off, b_off, n, k, m, False, tmp)
    np.testing.assert_allclose(acts[z_off:].reshape(n, m), A @ W + b, rtol=tol, atol=tol)

    deltas = np.concatenate([D.ravel(), np.empty(n * k)]).astype(dtype)
    grad = np.full(params.size, np.nan, dtype)
    weight_grad(acts, a_off, deltas, 0, grad, w_off, b_off, n, k, m, tmp, False, False, stack)
    np.testing.assert_allclose(grad[w_off:b_off].reshape(k, m), A.T @ D, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad[b_off:], D.sum(0), rtol=tol, atol=tol)
    weight_grad(acts, a_off, deltas, 0, grad, w_off, b_off, n, k, m, tmp, True, False, stack)
    np.testing.assert_allclose(grad[w_off:b_off].reshape(k, m), 2 * A.T @ D, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad[b_off:], 2 * D.sum(0), rtol=tol, atol=tol)
    assert np.isnan(grad[:w_off]).all()  # nothing written outside the layer's blocks

    backprop_messages(deltas, 0, params, w_off, n * m, n, k, m, False, tmp)
    np.testing.assert_allclose(deltas[n * m :].reshape(n, k), D @ W.T, rtol=tol, atol=tol)


@njit
def _np_dot_on_views(trans_a, trans_b, m, n, k, a, b, c):
    # the BLAS path as the kernels wrote it before _blas: np.dot on reshaped views
    # (a branch per case: one expression for both would type A as of any layout,
    # which np.dot copies to C order first)
    if trans_a:
        np.dot(a.reshape((k, m)).T, b.reshape((k, n)), c.reshape((m, n)))
    elif trans_b:
        np.dot(a.reshape((m, k)), b.reshape((n, k)).T, c.reshape((m, n)))
    else:
        np.dot(a.reshape((m, k)), b.reshape((k, n)), c.reshape((m, n)))


@njit(_nrt=False)
def _matmul_at(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):
    matmul(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off)


SHAPES = [(32, 16, 8), (32, 1, 16), (1, 32, 16), (1, 1, 300), (7, 5, 1), (1, 1, 1), (64, 10, 64)]


@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_is_np_dot_bit_for_bit(m, n, k, trans_a, trans_b, dtype):
    # np.dot picks gemv for one row or one column, dot for one number, gemm else:
    # matmul calls the same BLAS functions, so the same bits; it writes only C's block.
    rng = np.random.RandomState(m * n + k)
    a, b = rng.randn(m * k).astype(dtype), rng.randn(k * n).astype(dtype)
    a_buf = np.concatenate([np.full(3, np.nan, dtype), a])
    b_buf = np.concatenate([np.full(5, np.nan, dtype), b])
    c_buf = np.full(2 + m * n + 4, np.nan, dtype)
    _matmul_at(trans_a, trans_b, m, n, k, a_buf, 3, b_buf, 5, c_buf, 2)
    expected = np.empty(m * n, dtype)
    _np_dot_on_views(trans_a, trans_b, m, n, k, a, b, expected)
    np.testing.assert_array_equal(c_buf[2 : 2 + m * n], expected)
    assert np.isnan(c_buf[:2]).all() and np.isnan(c_buf[2 + m * n :]).all()
    A = a.reshape(k, m).T if trans_a else a.reshape(m, k)  # and the product is right
    B = b.reshape(n, k).T if trans_b else b.reshape(k, n)
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(expected.reshape(m, n), A.astype(float) @ B, rtol=tol, atol=tol)


def sklearn_params(p):
    """Split a flat vector in two parts, as lists that sklearn's optimizers accept."""
    return [p[:5], p[5:]]


@pytest.mark.parametrize(
    "momentum,nesterov", [(0.0, False), (0.0, True), (0.9, False), (0.9, True)]
)
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
    np.testing.assert_array_equal(ours, np.concatenate(theirs))  # same formula, same bits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_division_by_the_batch_weight_is_exact_as_a_product(dtype):
    # g / S as g * (1 / S) when S is a power of two: the same bits, subnormals too.
    from fastbp._kernels.backward import exact_reciprocal, per_batch

    rng = np.random.RandomState(0)
    info = np.finfo(dtype)
    g = np.concatenate([rng.randn(500), rng.randn(100) * float(info.tiny), [0.0, -0.0]])
    g = g.astype(dtype)
    for S in [1.0, 2.0, 64.0, 128.0, 0.5, 2.0**-3, 3.0, 96.0, 1.7, 2.0**-130, 2.0**120]:
        inv = dtype(exact_reciprocal(S))
        assert (inv != 0) == (S in (1.0, 2.0, 64.0, 128.0, 0.5, 2.0**-3))
        s = dtype(S)
        ours = np.array([per_batch(x, s, inv) for x in g], dtype=dtype)
        with np.errstate(over="ignore"):  # g / 2^-130 in float32
            theirs = g / s
        np.testing.assert_array_equal(ours, theirs)
        assert (np.signbit(ours) == np.signbit(theirs)).all()


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


# The epoch kernel, called directly, on [4, 6, 2], whose products take loops, and
# [4, 30, 20, 2], whose products all go to BLAS. The reference is
# Network.loss_gradient. Batches of 11 leave a last batch of one row, and batches
# of 1 are all of one row.
@pytest.mark.parametrize(
    "sizes,epoch",
    [([4, 6, 2], run_epoch), ([4, 30, 20, 2], run_epoch)],
    ids=["loops", "blas"],
)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("solver,momentum", [(SGD, 0.9), (SGD, 0.0), (ADAM, 0.9)])
@pytest.mark.parametrize("batch", [5, 11, 1])
def test_epoch_equals_minibatch_steps_through_the_api(solver, momentum, sparse, sizes, epoch,
                                                      batch):  # fmt: skip
    rng = np.random.RandomState(0)
    X, Y, sw = rng.randn(23, 4), rng.randn(23, 2), rng.uniform(0.5, 2, 23)
    X[X < 0.3] = 0  # zeros, stored or not
    sw[:3] = 1  # rows of unit weight: steps without division
    idx = rng.permutation(23).astype(np.int64)
    net = Network(sizes, "tanh", random_state=0)
    ref = Network(sizes, "tanh", random_state=0)
    state = np.zeros((2, net.params.size))
    data = sp.csr_matrix(X) if sparse else X
    total, t = epoch(*epoch_groups(net, data, Y, sw, idx, batch, state, solver, 0.1, momentum))

    params = [ref.params.copy()]  # one flat piece: sklearn's optimizers take lists
    opt = (
        AdamOptimizer(params, 0.01, 0.9, 0.999, 1e-8)
        if solver == ADAM
        else SGDOptimizer(params, 0.01, "constant", momentum, True)
    )
    expected_total = 0.0
    for start in range(0, 23, batch):
        rows = idx[start : start + batch]
        ref.params = params[0]
        loss, grad = ref.loss_gradient(X[rows], Y[rows], sample_weight=sw[rows], alpha=0.1)
        expected_total += loss * len(rows)
        opt.update_params(params, [grad])
    assert t == (-(-23 // batch) if solver == ADAM else 0)
    np.testing.assert_allclose(net.params, params[0], rtol=1e-12)
    np.testing.assert_allclose(total, expected_total, rtol=1e-12)


@pytest.mark.parametrize(
    "sizes,batch,plain_sgd",
    [([1, 2, 1], 2, True), ([1, 2, 1], 1, False), ([4, 6, 2], 5, True), ([1, 50, 1], 1, True)],
)
def test_epoch_kernel_is_the_batched_one_unless_a_generated_one_applies(sizes, batch, plain_sgd):
    # (a generated kernel: plain SGD on batches of one row, tiny networks; test_unrolled.py)
    assert pick_epoch_kernel(sizes, batch, 1, 0, 0, plain_sgd) is run_epoch


@pytest.mark.skipif(DISABLE_JIT, reason="counts allocations of compiled code")
def test_allocation_counts_see_allocations_and_kernels_cannot_allocate():
    # What the two tests below rest on. Their zeros are measurements: Numba's
    # statistics count every array a compiled loop allocates...
    import numba
    from numba.core.dispatcher import Dispatcher
    from numba.core.errors import TypingError
    from numba.core.runtime import _nrt_python, rtsys

    import fastbp
    from fastbp._kernels.config import JIT_OPTIONS

    _nrt_python.memsys_enable_stats()

    @njit
    def allocating(n):
        total = 0.0
        for i in range(n):
            total += np.zeros(i + 1).sum()
        return total

    allocating(1)
    before = rtsys.get_allocation_stats().alloc
    allocating(10)
    assert rtsys.get_allocation_stats().alloc - before == 10

    # ...and fastbp's kernels are compiled without the runtime (_nrt=False), so a
    # kernel that allocates does not compile at all:
    with pytest.raises(TypingError):
        njit(**{**JIT_OPTIONS, "cache": False})(lambda n: np.zeros(n).sum())(3)
    kernels = [
        f
        for name, module in vars(fastbp._kernels).items()
        if type(module) is type(numba)
        for f in vars(module).values()
        if isinstance(f, Dispatcher)
    ]
    assert len(kernels) > 30
    assert all(f.targetoptions["_nrt"] is False for f in kernels)


@pytest.mark.skipif(DISABLE_JIT, reason="counts allocations of compiled code")
@pytest.mark.parametrize("sizes", [[3, 5, 1], [64, 128, 64, 10]])
@pytest.mark.parametrize("kernel", [run_epoch], ids=["batched"])
def test_no_allocation_inside_the_epoch_loop(sizes, kernel):
    from numba.core.runtime import _nrt_python, rtsys

    _nrt_python.memsys_enable_stats()
    net = Network(sizes, "relu", random_state=0)
    rng = np.random.RandomState(0)

    def allocations(n_samples, epochs):
        X, Y = rng.randn(n_samples, sizes[0]), rng.randn(n_samples, sizes[-1])
        for solver in (SGD, ADAM):
            state = np.zeros((2, net.params.size))
            args = epoch_groups(net, X, Y, np.ones(n_samples), np.arange(n_samples), 32, state,
                                solver)  # fmt: skip
            kernel(*args)  # compile, warm up
            before = rtsys.get_allocation_stats().alloc
            for _ in range(epochs):
                kernel(*args)
            yield rtsys.get_allocation_stats().alloc - before

    assert list(allocations(64, 1)) == [0, 0]  # 2 minibatches, 1 epoch
    assert list(allocations(640, 5)) == [0, 0]  # 20 minibatches, 5 epochs


@pytest.mark.skipif(DISABLE_JIT, reason="counts allocations of compiled code")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_fit_allocations_do_not_grow_with_epochs_or_batches(early_stopping):
    # Numba's allocations, as the issue states the requirement; what the estimator's
    # Python code allocates between epochs (loss curve, validation predictions) is
    # not counted here.
    from numba.core.runtime import _nrt_python, rtsys

    _nrt_python.memsys_enable_stats()
    rng = np.random.RandomState(0)

    def allocations(n_samples, epochs):
        X, y = rng.randn(n_samples, 4), rng.randn(n_samples)
        est = MLPRegressor(hidden_layer_sizes=(8,), batch_size=16, max_iter=epochs, tol=0,
                           n_iter_no_change=1000, early_stopping=early_stopping)  # fmt: skip
        before = rtsys.get_allocation_stats().alloc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        assert est.n_iter_ == epochs
        return rtsys.get_allocation_stats().alloc - before

    allocations(100, 1)  # compile
    assert allocations(100, 2) == allocations(1000, 20)
