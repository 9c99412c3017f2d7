"""Small float64 products computed by fastbp in OpenBLAS's order (``_kernels/products``)
against NumPy's, which are scikit-learn's: equal bit for bit."""

import warnings

import numpy as np
import pytest
from numba import config
from sklearn.datasets import load_iris, load_wine, make_classification
from threadpoolctl import threadpool_limits

import fastbp
from fastbp._kernels import products, protocol
from fastbp._kernels.products import MAX_K, MAX_MNK, fits, small_matmul

pytestmark = pytest.mark.skipif(
    config.DISABLE_JIT or not products.available(),
    reason="the kernels' own products run compiled, over OpenBLAS on its Haswell kernels",
)


def ours(trans_a, trans_b, A, B):
    """op(A) @ op(B) by ``small_matmul``, the operands at offsets in flat buffers."""
    m = A.shape[1] if trans_a else A.shape[0]
    n = B.shape[0] if trans_b else B.shape[1]
    k = B.shape[1] if trans_b else B.shape[0]
    a = np.concatenate([[np.nan] * 3, A.ravel()])
    b = np.concatenate([[np.nan] * 5, B.ravel()])
    c = np.full(m * n + 9, np.nan)
    tmp = np.full(n * k, np.nan)
    small_matmul(trans_a, trans_b, m, n, k, a, 3, b, 5, c, 7, tmp)
    assert np.isnan(c[:7]).all() and np.isnan(c[7 + m * n :]).all()  # nothing outside C
    return c[7 : 7 + m * n].reshape(m, n)


def numpys(trans_a, trans_b, A, B):
    return (A.T if trans_a else A) @ (B.T if trans_b else B)


def operands(rng, trans_a, trans_b, m, n, k, values=None):
    draw = values if values is not None else rng.standard_normal
    A = draw((k, m) if trans_a else (m, k))
    B = draw((n, k) if trans_b else (k, n))
    return A, B


def shapes(rng, count, most_m=40, most_n=40):
    """Random products that ``fits``, with every transpose, and the edges: odd and
    even rows, columns around multiples of 4 and 8, k around multiples of 8 up to 256."""
    chosen = [
        (2, 2, 1),
        (3, 4, 8),
        (3, 5, 9),
        (5, 13, 256),
        (150, 100, 4),
        (150, 3, 100),
        (4, 100, 150),
        (100, 3, 150),
        (13, 100, 178),
        (1025, 255, 1),
        (1023, 2, 128),
        (2, 1023, 128),
    ]
    while len(chosen) < count:
        m, n = (int(x) for x in rng.integers(2, [most_m, most_n]))
        k = int(rng.integers(1, MAX_K + 1))
        if fits(m, n, k):
            chosen.append((m, n, k))
    return [(m, n, k, ta, tb) for m, n, k in chosen for ta in (False, True) for tb in (False, True)]


@pytest.mark.parametrize("threads", [1, 2])
def test_products_equal_numpys_bit_for_bit(threads):
    rng = np.random.default_rng(0)
    with threadpool_limits(threads):
        for m, n, k, ta, tb in shapes(rng, 300) + shapes(rng, 30, most_m=3000, most_n=300):
            A, B = operands(rng, ta, tb, m, n, k)
            np.testing.assert_array_equal(ours(ta, tb, A, B), numpys(ta, tb, A, B), str((m, n, k)))


def test_products_of_special_values_equal_numpys():
    # zeros (signs of zero included), infinities and NaN, and magnitudes whose
    # products overflow or underflow (where a fused multiply-add differs most)
    rng = np.random.default_rng(1)
    pool = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e300, 1e-300, 3.0, -2.5])

    def values(shape):
        return rng.choice(pool, size=shape)

    for m, n, k, ta, tb in shapes(rng, 40):
        A, B = operands(rng, ta, tb, m, n, k, values)
        np.testing.assert_array_equal(ours(ta, tb, A, B), numpys(ta, tb, A, B))
        # mostly zeros: relu layers
        A, B = operands(rng, ta, tb, m, n, k)
        A[A < 0.5] = 0
        np.testing.assert_array_equal(ours(ta, tb, A, B), numpys(ta, tb, A, B))


@pytest.mark.parametrize(
    "m,n,k",
    [
        (4, 8, MAX_K + 1),  # a longer sum: OpenBLAS splits it in two and adds the parts
        (2, 2, 3 * MAX_K),
        (150, 100, 200),  # m n k > MAX_MNK: OpenBLAS may split it across threads
    ],
)
def test_products_outside_the_limits_are_left_to_blas(m, n, k):
    assert not fits(m, n, k)
    if k > MAX_K:  # the one-chain order is no longer OpenBLAS's: the limit is needed
        rng = np.random.default_rng(2)
        A, B = operands(rng, False, False, m, n, k)
        assert not np.array_equal(ours(False, False, A, B), A @ B)
    assert m * n * k > MAX_MNK or k > MAX_K


def test_work_computes_float64_products_only():
    assert protocol.work([4, 100, 3], 150, np.float64).own_products
    assert not protocol.work([4, 100, 3], 150, np.float32).own_products
    # the seed network's kernels make no BLAS call: no scan for the BLAS loaded
    assert not protocol.work([1, 2, 1], 1, np.float64).own_products


def _fitted(cls, X, y, own, monkeypatch, **params):
    monkeypatch.setattr(products, "_AVAILABLE", own)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(random_state=0, **params).fit(X, y)


def _sets():
    X, y = make_classification(157, 13, n_informative=5, n_classes=3, random_state=0)
    yield "odd rows, odd features", X, y
    for loader in (load_iris, load_wine):
        X, y = loader(return_X_y=True)
        yield loader.__name__, (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", max_iter=20),
        dict(solver="adam", max_iter=20, batch_size=31),
        dict(solver="adam", max_iter=15, early_stopping=True, hidden_layer_sizes=(30, 7)),
        dict(solver="lbfgs", max_iter=25),
        dict(solver="lbfgs", max_iter=25, hidden_layer_sizes=(9, 5)),
    ],
)
def test_fits_with_own_products_equal_fits_with_blas(params, monkeypatch):
    for name, X, y in _sets():
        for cls in (fastbp.MLPClassifier, fastbp.MLPRegressor):
            target = y if cls is fastbp.MLPClassifier else y * 0.5 + X[:, 0]
            own = _fitted(cls, X, target, True, monkeypatch, **params)
            blas = _fitted(cls, X, target, False, monkeypatch, **params)
            assert own.n_iter_ == blas.n_iter_, name
            assert own.loss_ == blas.loss_, name
            for a, b in zip(own.coefs_ + own.intercepts_, blas.coefs_ + blas.intercepts_):
                np.testing.assert_array_equal(a, b, name)
