"""NumPy's exp and tanh and Python's powers, to the bit, and the fits built on them
equal to scikit-learn's bit for bit (fastbp/_kernels/numpy_math.py,
optimizers.adam_step)."""

import math
import warnings

import numba
import numpy as np
import pytest
from numba import config
from sklearn import neural_network as sk
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import fastbp
from fastbp._kernels import _flavor, numpy_math, products


def _libm(function, probes, ours):
    """Whether NumPy's ``function`` is the C library's (``ours``) on the probes."""
    x = np.array([p for p, _ in probes])
    return function(x).tolist() == [ours(v) for v in x.tolist()]


# NumPy's exp is SVML's (replicated) or the C library's (math.exp) on the machines
# fastbp knows, its tanh its own or the C library's; elsewhere (NumPy's AVX-512 exp
# without SVML) neither
KNOWN = (_flavor.SVML or _libm(np.exp, _flavor._EXP_PROBES, math.exp)) and (
    _flavor.NUMPY_TANH or _libm(np.tanh, _flavor._TANH_PROBES, math.tanh)
)


@numba.njit
def _exps(x, out):
    for i in range(x.shape[0]):
        out[i] = numpy_math.exp(x[i])


@numba.njit
def _tanhs(x, out):
    for i in range(x.shape[0]):
        out[i] = numpy_math.tanh(x[i])


def _same(got, expected):
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), (got[~same][:5], expected[~same][:5])


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's known")
def test_tanh_is_numpys():
    # NumPy's own where it has one (fused multiply-adds), else the C library's
    rng = np.random.default_rng(1)
    edges = [0.0, -0.0, 5e-324, -5e-324, 1e-300, np.inf, -np.inf, np.nan, 0.125, 0.1249999,
             19.06, 19.07, 1e300, -1e300, 2.0**1023, -(2.0**1023), 1.7e308]  # fmt: skip
    for x in (
        rng.uniform(-25, 25, 1_000_000),
        rng.uniform(-1, 1, 500_000),
        np.exp(rng.uniform(-40, 6, 200_000)) * rng.choice([-1, 1], 200_000),  # all binades
        np.array(edges),
    ):
        out = np.empty_like(x)
        _tanhs(x, out)
        _same(out, np.tanh(x))


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's known")
def test_exp_is_numpys():
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1e-300, -1e-300, 5e-324, np.inf, -np.inf, np.nan, 1.0, -1.0]
    t = numpy_math.THRESHOLD
    edges += [t, -t, np.nextafter(t, 0), -np.nextafter(t, 0), 709.78, -745.1, -746.0, 710.0]
    for x in (
        rng.uniform(-40, 40, 1_000_000),  # softmax's arguments are at most 0
        rng.uniform(-t, t, 1_000_000),
        rng.uniform(-1e-9, 1e-9, 100_000),
        -np.exp(rng.uniform(-50, 6.5, 100_000)),  # across the binades
        np.array(edges),
    ):
        out = np.empty_like(x)
        _exps(x, out)
        with np.errstate(all="ignore"):
            _same(out, np.exp(x))


@pytest.mark.skipif(config.DISABLE_JIT, reason="plain Python: Numba's powers not used")
def test_adam_bias_correction_is_pythons_power():
    # scikit-learn's Adam computes beta ** t in Python (C's pow); Numba's ** with an
    # integer exponent multiplies, with other last bits for most t
    from fastbp._kernels.optimizers import adam_step

    params, grad = np.zeros(1), np.ones(1)
    for t in (1, 2, 3, 10, 77, 1000, 12345):
        m, v, p = np.zeros(1), np.zeros(1), np.zeros(1)
        adam_step(p, grad, m, v, t, 1e-3, 0.9, 0.999, 1e-8)
        lr_t = 1e-3 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m1, v1 = (1 - 0.9) * 1.0, (1 - 0.999) * (1.0 * 1.0)
        assert p[0] == params[0] + -lr_t * m1 / (np.sqrt(v1) + 1e-8), t


FITS = [
    # softmax: NumPy's exp and its row sums (digits: 10 classes, pairwise)
    ("classifier", load_iris, "relu", 60),
    ("classifier", load_wine, "relu", 60),
    ("classifier", load_digits, "relu", 15),
    # NumPy's tanh; one logistic output, whose bias gradient is NumPy's pairwise mean
    ("classifier", load_breast_cancer, "tanh", 20),
    # one identity output, batches of 200 rows (the pairwise sum's halves)
    ("regressor", load_diabetes, "relu", 20),
]


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's known")
@pytest.mark.parametrize("kind,load,activation,epochs", FITS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fits_equal_scikit_learns_bit_for_bit(kind, load, activation, epochs, solver):
    # the products of these sets are OpenBLAS's order (products.py) or BLAS's own, on
    # one thread; exp, tanh and sums NumPy's, Adam's powers Python's: every weight
    # and prediction the same bits (the loss curve is summed in another order)
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    name = "MLPClassifier" if kind == "classifier" else "MLPRegressor"
    params = dict(solver=solver, random_state=0, max_iter=epochs, activation=activation)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        theirs = getattr(sk, name)(**params).fit(X, y)
        ours = getattr(fastbp, name)(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert np.array_equal(a, b)
    predict = "predict_proba" if kind == "classifier" else "predict"
    assert np.array_equal(getattr(ours, predict)(X), getattr(theirs, predict)(X))


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's known")
@pytest.mark.parametrize("classes", [2, 3, 7, 8, 9, 15, 16, 17, 64, 100, 128])
def test_softmax_is_scikit_learns(classes):
    from sklearn.neural_network._base import inplace_softmax

    from fastbp._kernels.activations import softmax

    Z = np.random.default_rng(classes).normal(scale=4, size=(60, classes))
    theirs = Z.copy()
    inplace_softmax(theirs)
    ours = np.concatenate([[7.0], Z.ravel()])
    softmax(ours, 1, 60, classes)
    assert np.array_equal(ours[1:].reshape(60, classes), theirs)


def test_exp_flavour_is_known_on_this_projects_machines():
    # the machines fastbp is measured on (x86-64, AVX-512 or not) have one of the two
    if products.available():  # OpenBLAS on Haswell kernels: this project's x86-64
        assert KNOWN


@pytest.mark.parametrize("n", [1, 7, 8, 100, 128, 129, 200, 1000, 2048])
@pytest.mark.parametrize("m", [1, 5])
def test_bias_gradient_sums_as_numpys_mean(n, m):
    # scikit-learn's intercept gradient is np.mean(D, axis=0): pairwise over a single
    # column's contiguous values, row after row over several columns
    from fastbp._kernels.backward import weight_grad

    rng = np.random.default_rng(n)
    D = rng.standard_normal((n, m)) * 10.0 ** rng.uniform(-4, 4, (n, m))
    acts, grad = rng.standard_normal(n * 3), np.full(3 * m + m, np.nan)
    tmp, stack = np.empty(3 * m), np.zeros(256)
    weight_grad(acts, 0, D.ravel(), 0, grad, 0, 3 * m, n, 3, m, tmp, False, False, stack)
    assert np.array_equal(grad[3 * m :], np.add.reduce(D, axis=0))
