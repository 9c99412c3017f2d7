"""Numerics at the extremes: activations and losses stay finite and correct for
pre-activations up to +-1e4 in both dtypes, without warnings."""

import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn import neural_network as sk
from sklearn.exceptions import ConvergenceWarning

import fastbp
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
DERIVATIVE = {
    "identity": np.ones_like,
    "logistic": lambda z: expit(z) * expit(-z),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "softplus": expit,
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01),
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
    # gradients through the activation stay finite and correct too
    _, grad = net.loss_gradient(z[:, None], np.zeros(len(z), dtype))
    assert np.isfinite(grad).all()
    # the 1-1-1 network's gradient in closed form: out = f(z), loss = mean(out^2) / 2
    zz = z.astype(np.float64)
    with np.errstate(all="ignore"):
        out64, slope = REFERENCE[name](zz), DERIVATIVE[name](zz)
    ref_grad = np.array([(out64 * slope * zz).mean(), (out64 * out64).mean(),
                         (out64 * slope).mean(), out64.mean()])  # fmt: skip
    scale = np.abs(ref_grad).max()  # a sum of terms this large may cancel to ~0
    np.testing.assert_allclose(grad, ref_grad, rtol=10 * TOL[dtype], atol=10 * TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["logistic", "tanh", "relu"])
def test_activations_and_derivatives_are_scikit_learns_bits(name, dtype):
    # The same operations in the same dtype as scikit-learn's: scipy's expit for
    # logistic (1 / (1 + e^-z), the C library's exp or expf), delta * out * (1 - out)
    # and delta * (1 - out^2): the same bits. (tanh's forward is NumPy's own
    # vectorised tanh there, the C library's here: not compared.) Compiled only:
    # as plain Python, float32's e^-z is math.exp's, in double precision.
    if numba.config.DISABLE_JIT and name == "logistic" and dtype == np.float32:
        pytest.skip("plain Python computes float32's exp in double precision")
    from sklearn.neural_network._base import ACTIVATIONS, DERIVATIVES

    from fastbp._kernels.activations import activate, backprop_derivative
    from fastbp._tables import HIDDEN_ACTIVATIONS

    code = HIDDEN_ACTIVATIONS[name]
    rng = np.random.RandomState(0)
    z = (rng.randn(20_000) * 8).astype(dtype)
    z[:5] = [-80, -30, 0, 30, 1e4]  # (below -88.7 expit's float32 is 0, fastbp's e^z)
    out = z.copy()
    activate(out, 0, 1, z.size, code)
    theirs = z.copy()
    ACTIVATIONS[name](theirs)
    if name != "tanh":
        np.testing.assert_array_equal(out, theirs)
    delta = rng.randn(z.size).astype(dtype)
    ours, theirs = delta.copy(), delta.copy()
    backprop_derivative(out, 0, ours, 0, z.size, code)
    DERIVATIVES[name](out, theirs)
    np.testing.assert_array_equal(ours, theirs)


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


# ----- Network: overflow and non-finite params end in an exception, never NaN -----


def allow_overflow_warnings_as_plain_python():
    """Overflow is the point of the tests below. Compiled, the kernels warn about
    nothing; with NUMBA_DISABLE_JIT they run as Python on numpy scalars, which do."""
    if numba.config.DISABLE_JIT:
        warnings.filterwarnings("ignore", r"(overflow|invalid value) encountered", RuntimeWarning)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["identity", "relu", "leaky_relu", "softplus"])
def test_network_overflow_is_a_floating_point_error(name, dtype):
    allow_overflow_warnings_as_plain_python()
    net = Network([3, 4, 2], activation=name, dtype=dtype, random_state=0)
    net.params[:] = np.abs(net.params) + 1  # every path adds up: no cancellation
    X = np.full((2, 3), np.finfo(dtype).max / 2)
    with pytest.raises(FloatingPointError, match="The forward pass overflowed"):
        net.forward(X)
    with pytest.raises(FloatingPointError, match="The loss or its gradient overflowed"):
        net.loss_gradient(X, np.zeros((2, 2)))
    # a loss that overflows while the outputs do not
    big = np.full((2, 3), np.sqrt(np.finfo(dtype).max))
    assert np.isfinite(net.forward(big)).all()
    with pytest.raises(FloatingPointError, match="The loss or its gradient overflowed"):
        net.loss_gradient(big, np.zeros((2, 2)))


@pytest.mark.parametrize("output", ["logistic", "softmax", "exp"])
def test_squashing_outputs_saturate_instead_of_overflowing(output):
    allow_overflow_warnings_as_plain_python()
    # pre-activations of +-1e308 and beyond (+-inf): probabilities saturate at 0
    # and 1, exp at the dtype's largest value. Softmax of an infinite
    # pre-activation is NaN (inf - inf), in scikit-learn too: a FloatingPointError.
    net = Network([2, 2], output_activation=output, random_state=0)
    net.params[:] = [2, 0, 0, 2, 0, 0]  # z = 2 x
    finite = np.array([[4e307, 0], [-4e307, 0], [0, 4e307], [4e307, -4e307]])
    p = net.forward(finite)
    assert np.isfinite(p).all()
    if output == "softmax":
        np.testing.assert_array_equal(p, [[1, 0], [0, 1], [0, 1], [1, 0]])
        with pytest.raises(FloatingPointError, match="The forward pass overflowed"):
            net.forward([[1e308, 0]])
    else:
        beyond = net.forward([[1e308, -1e308]])  # z = [inf, -inf]
        assert np.isfinite(beyond).all()
        if output == "logistic":
            np.testing.assert_array_equal(beyond, [[1, 0]])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_network_with_non_finite_params_refuses_to_compute(value):
    net = Network([3, 4, 2], random_state=0)
    X, Y = np.ones((2, 3)), np.zeros((2, 2))
    net.params[5] = value  # e.g. after `net.params -= lr * grad` diverged
    with pytest.raises(ValueError, match="params contain NaN or infinity"):
        net.forward(X)
    with pytest.raises(ValueError, match="params contain NaN or infinity"):
        net.loss_gradient(X, Y)


# ----- estimators: diverging fits, overflowing data -----

DIVERGING = [  # (estimator, dtype, solver, learning_rate_init): scikit-learn raises
    ("MLPRegressor", np.float64, "sgd", 1e6),
    ("MLPRegressor", np.float32, "sgd", 1e6),
    ("MLPRegressor", np.float32, "adam", 1e30),
    ("MLPClassifier", np.float32, "sgd", 1e6),
    ("MLPClassifier", np.float32, "adam", 1e30),
]


def diverging_data(kind, dtype):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    if kind == "MLPRegressor":
        return X.astype(dtype), 3e3 * X[:, 0]
    return X.astype(dtype), (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def both(kind, **params):
    params = {"hidden_layer_sizes": (5,), "max_iter": 10, "random_state": 0, **params}
    return getattr(fastbp, kind)(**params), getattr(sk, kind)(**params)


@pytest.mark.parametrize("kind,dtype,solver,lr", DIVERGING)
def test_a_diverging_fit_is_sklearns_non_finite_weights_error(kind, dtype, solver, lr):
    X, y = diverging_data(kind, dtype)
    extra = {"classes": [0, 1, 2]} if kind == "MLPClassifier" else {}
    message = "Solver produced non-finite parameter weights"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's overflow warnings in scikit-learn
        for est in both(kind, solver=solver, learning_rate_init=lr):
            with pytest.raises(ValueError, match=message):
                est.fit(X, y)
        for est in both(kind, solver=solver, learning_rate_init=lr):
            with pytest.raises(ValueError, match=message):
                for _ in range(10):
                    est.partial_fit(X, y, **extra)
        # with early stopping, both keep the best epoch's (finite) weights
        ours, theirs = both(kind, solver=solver, learning_rate_init=lr, early_stopping=True)
        ours.fit(X, y), theirs.fit(X, y)
        for a, b in zip(ours.coefs_, theirs.coefs_):
            assert np.isfinite(a).all()
            np.testing.assert_allclose(a, b, rtol=1e-4)
        assert np.isfinite(ours.predict(X).astype(float)).all()


@pytest.mark.parametrize(
    "kind,dtype,scale",
    [
        ("MLPRegressor", np.float64, 1e200),
        ("MLPClassifier", np.float64, 1e200),
        ("MLPRegressor", np.float32, 3e30),
    ],
)
def test_lbfgs_on_data_whose_loss_overflows_raises_instead_of_a_nan_loss(kind, dtype, scale):
    # scikit-learn keeps the initial weights with loss_ = nan (float64) and a
    # ConvergenceWarning; fastbp refuses to end a fit with a NaN loss.
    X, y = diverging_data(kind, dtype)
    X = X * dtype(scale)
    ours, theirs = both(kind, solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"Solver produced a non-finite loss \(nan\)"):
            ours.fit(X, y)
        if dtype == np.float64:
            assert np.isnan(theirs.fit(X, y).loss_)


@pytest.mark.parametrize("kind", ["MLPRegressor", "MLPClassifier"])
def test_predictions_that_overflow_warn_like_sklearns(kind):
    allow_overflow_warnings_as_plain_python()
    X, y = diverging_data(kind, np.float64)
    ours, theirs = both(kind, solver="lbfgs", activation="identity", max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y), theirs.fit(X, y)
    ours.predict(X)  # no warning for ordinary data (warnings are errors here)
    for est in (ours, theirs):
        for W in est.coefs_:
            W[...] = 1.0  # every hidden unit of the first two rows overflows
    huge = np.array([[1e308] * 4, [5e307] * 4, [1.0] * 4])
    with pytest.warns(RuntimeWarning, match="forward pass overflowed for 2 of 3 rows"):
        ours.predict(huge)
    with warnings.catch_warnings(record=True) as caught:  # numpy's, in scikit-learn
        warnings.simplefilter("always")
        theirs.predict(huge)
    assert any("overflow" in str(w.message) for w in caught)
    if kind == "MLPClassifier":
        with pytest.warns(RuntimeWarning, match="forward pass overflowed"):
            ours.predict_proba(huge)


# ----- float32 trains as well as float64 -----


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,n_samples,epochs",
    [("seed", 2000, 5), ("small", 2000, 5), ("mid", 2000, 5), ("large", 2000, 8)],
)
def test_float32_reaches_float64s_loss_on_the_bench_cases(name, n_samples, epochs):
    # bench/cases.py's cases and training (plain minibatch SGD, lr 0.01, no
    # momentum, no L2), with fewer samples and epochs: float32's loss, epoch by
    # epoch and on the data afterwards, within 3% of float64's (observed: 3e-5).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.cases import CASES, LEARNING_RATE, make_data, squared_error

    case = CASES[name]
    X64, y64 = make_data(case, "float64", n_samples=n_samples)
    fits = {}
    for dtype in ("float64", "float32"):
        X, y = make_data(case, dtype, n_samples=n_samples)
        est = fastbp.MLPRegressor(
            hidden_layer_sizes=case.hidden, activation=case.activation, solver="sgd",
            learning_rate_init=LEARNING_RATE, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
            batch_size=case.batch_size, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
            random_state=0,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        assert est.coefs_[0].dtype == np.dtype(dtype)
        fits[dtype] = (np.array(est.loss_curve_), squared_error(est.predict(X), y64))
    (curve64, loss64), (curve32, loss32) = fits["float64"], fits["float32"]
    assert loss64 < squared_error(np.zeros_like(y64), y64)  # it learned something
    np.testing.assert_allclose(curve32, curve64, rtol=0.03)
    np.testing.assert_allclose(loss32, loss64, rtol=0.03)
