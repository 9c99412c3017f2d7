"""NumPy's exp and Python's powers, to the bit, and the fits built on them equal to
scikit-learn's bit for bit (fastbp/_kernels/numpy_exp.py, optimizers.adam_step)."""

import math
import warnings

import numba
import numpy as np
import pytest
from numba import config
from sklearn import neural_network as sk
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import fastbp
from fastbp._kernels import _flavor, numpy_exp, products


def _libm():
    """Whether NumPy's float64 exp is the C library's (as math.exp) on the probes."""
    x = np.array([p for p, _ in _flavor._PROBES])
    return np.exp(x).tolist() == [math.exp(v) for v in x.tolist()]


# NumPy's exp is SVML's (replicated) or the C library's (math.exp) on the machines
# fastbp knows; elsewhere (NumPy's own AVX-512 exp without SVML) it is neither
KNOWN = _flavor.SVML or _libm()


@numba.njit
def _exps(x, out):
    for i in range(x.shape[0]):
        out[i] = numpy_exp.exp(x[i])


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's exp known")
def test_exp_is_numpys():
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1e-300, -1e-300, 5e-324, np.inf, -np.inf, np.nan, 1.0, -1.0]
    t = numpy_exp.THRESHOLD
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
            expected = np.exp(x)
        same = (out == expected) | (np.isnan(out) & np.isnan(expected))
        assert same.all(), x[~same][:5]


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


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's exp known")
@pytest.mark.parametrize("load,epochs", [(load_iris, 60), (load_wine, 60), (load_digits, 15)])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_softmax_fits_equal_scikit_learns_bit_for_bit(load, epochs, solver):
    # the products of these sets are OpenBLAS's order (products.py) or BLAS's own, on
    # one thread; softmax's exp NumPy's and its sum NumPy's (digits: 10 classes),
    # Adam's powers Python's: every weight and probability the same bits (the loss
    # curve is summed in another order)
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(solver=solver, random_state=0, max_iter=epochs, hidden_layer_sizes=(50,))
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        theirs = sk.MLPClassifier(**params).fit(X, y)
        ours = fastbp.MLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert np.array_equal(a, b)
    assert np.array_equal(ours.predict_proba(X), theirs.predict_proba(X))


@pytest.mark.skipif(config.DISABLE_JIT or not KNOWN, reason="compiled kernels, NumPy's exp known")
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
