"""L-BFGS in compiled code (fastbp/_kernels/lbfgs.py) against scipy's L-BFGS-B and
scikit-learn's lbfgs fits."""

import warnings

import numba
import numpy as np
import pytest
import scipy.optimize
from sklearn.datasets import make_moons, make_regression
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from fastbp import MLPClassifier, MLPRegressor, Network, _solvers
from fastbp._interrupts import HeldInterrupt
from fastbp._kernels import lbfgs, protocol, vectors
from fastbp._progress import NoBar


def _problem(sizes=(5, 8, 1), n=200, alpha=1e-3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    Y = np.tanh(X @ rng.standard_normal((sizes[0], sizes[-1]))) + 0.1 * rng.standard_normal(
        (n, sizes[-1])
    )
    net = Network(list(sizes), activation="tanh", random_state=seed)
    return net, X, Y, alpha


def _arguments(net, X, Y, alpha):
    data = protocol.data(X, net.dtype)
    targets = protocol.targets(Y.astype(net.dtype), np.ones(X.shape[0], dtype=net.dtype))
    rows = np.arange(X.shape[0], dtype=np.int64)
    work = protocol.work(net.layer_sizes, 64, net.dtype)
    return data, targets, rows, protocol.loss(0, alpha), work


def _run(net, X, Y, alpha, max_iter, max_fun=15000, tol=1e-5):
    """The compiled run's result, as the estimators call it (the network untouched)."""
    data, targets, rows, loss, work = _arguments(net, X, Y, alpha)
    params = net.params.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with HeldInterrupt() as interrupt:
            res, _ = _solvers.minimize_lbfgs(
                net, data, targets, rows, loss, work, max_iter, max_fun, tol, interrupt, NoBar()
            )
    net.params[:] = params
    return res


def _scipy(net, X, Y, alpha, max_iter, max_fun=15000, tol=1e-5):
    """scipy's run on the same loss and gradient (the kernel the estimators called it
    with before L-BFGS was compiled), with each iterate."""
    data, targets, rows, loss, work = _arguments(net, X, Y, alpha)
    x0 = net.params.astype(np.float64)
    iterates = []

    def loss_grad(x):
        grad = np.empty(x.shape[0], dtype=net.dtype)
        p = x.astype(net.dtype)
        value = net._loss_gradient(data, targets, rows, loss, work._replace(grad=grad), p)
        return value, grad.astype(np.float64)

    res = scipy.optimize.minimize(
        loss_grad,
        x0,
        method="L-BFGS-B",
        jac=True,
        callback=lambda x: iterates.append(x.copy()),
        options={"maxiter": max_iter, "maxfun": max_fun, "gtol": tol},
    )
    return res, iterates


@pytest.mark.parametrize("sizes", [(5, 8, 1), (3, 16, 16, 2)])
def test_iterates_agree_with_scipys_over_30_iterations(sizes):
    net, X, Y, alpha = _problem(sizes)
    expected, iterates = _scipy(net, X, Y, alpha, 30)
    assert len(iterates) == 30
    for k in (1, 2, 3, 5, 10, 20, 30):
        res = _run(net, X, Y, alpha, k)
        assert res.nit == k
        scale = np.max(np.abs(iterates[k - 1]))
        assert np.max(np.abs(res.x - iterates[k - 1])) <= 1e-9 * scale, k
    res = _run(net, X, Y, alpha, 30)
    assert res.nfev == expected.nfev and res.status == expected.status
    assert res.message == expected.message
    assert res.fun == pytest.approx(expected.fun, rel=1e-12)


@pytest.mark.parametrize(
    "max_iter,max_fun,tol",
    [(200, 7, 1e-5), (500, 15000, 1e-2), (3, 15000, 1e-5), (1000, 15000, 1e-3)],
)
def test_how_a_run_ends_is_scipys(max_iter, max_fun, tol):
    # the evaluation limit, convergence on the gradient, the iteration limit: scipy's
    # status, message, counts. (Runs of hundreds of iterations are chaotic: rounding
    # differences move their ends, as one or two BLAS threads move scipy's own.)
    net, X, Y, alpha = _problem((2, 4, 1), n=60)
    expected, _ = _scipy(net, X, Y, alpha, max_iter, max_fun, tol)
    res = _run(net, X, Y, alpha, max_iter, max_fun, tol)
    assert (res.nit, res.nfev, res.status, res.message) == (
        expected.nit,
        expected.nfev,
        expected.status,
        expected.message,
    )
    assert res.fun == pytest.approx(expected.fun, rel=1e-9, abs=1e-14)


def test_a_run_split_in_calls_is_the_same_run(monkeypatch):
    net, X, Y, alpha = _problem()
    whole = _run(net, X, Y, alpha, 40)
    monkeypatch.setattr(_solvers, "EPOCHS_CALL_S", 0.0)  # one evaluation per call
    monkeypatch.setattr(_solvers, "_LAST", {})  # (from the first: no pace of the run before)
    calls = []
    real = lbfgs.run_lbfgs

    def counting(*args):
        calls.append(int(args[-1].ints[lbfgs.BUDGET]))
        return real(*args)

    monkeypatch.setattr(lbfgs, "run_lbfgs", counting)
    split = _run(net, X, Y, alpha, 40)
    assert set(calls) == {1} and len(calls) >= split.nfev
    assert np.array_equal(whole.x, split.x) and whole.fun == split.fun


def _fit_both(fastbp_class, sk_class, X, y, **params):
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        a = fastbp_class(solver="lbfgs", random_state=0, **params).fit(X, y)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        b = sk_class(solver="lbfgs", random_state=0, **params).fit(X, y)
    return a, b, [str(w.message) for w in ours], [str(w.message) for w in theirs]


@pytest.mark.parametrize(
    "params",
    [
        dict(max_iter=5),
        dict(max_iter=30),
        dict(max_iter=200),
        dict(max_iter=200, max_fun=25),
        dict(max_iter=200, tol=1e-2),
        dict(max_iter=50, alpha=1.0),
    ],
)
def test_short_fits_are_scikit_learns(params):
    X, y = make_moons(100, noise=0.2, random_state=0)
    a, b, ours, theirs = _fit_both(
        MLPClassifier, SkClassifier, X, y, hidden_layer_sizes=(100, 100), **params
    )
    assert a.n_iter_ == b.n_iter_
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-9)
    assert ours == theirs
    Xr, yr = make_regression(80, 4, noise=1.0, random_state=0)
    a, b, ours, theirs = _fit_both(MLPRegressor, SkRegressor, Xr, yr / 100, **params)
    assert a.n_iter_ == b.n_iter_
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-9)
    assert ours == theirs


def _dot8(a, b):
    """lbfgs's dot product, plainly: 8 partial sums over the multiples of 8, then the tail."""
    n = len(b)
    end = n - n % 8
    r = [0.0] * 8
    for i in range(end):
        r[i % 8] += a[i] * b[i]
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(end, n):
        total += a[i] * b[i]
    return total


def _two_loop(g, S, Y, rho, head, col, theta):
    """-H g by the textbook two-loop recursion, one loop after another, in Python floats."""
    m = S.shape[0]
    q = [float(v) for v in g]
    alpha = [0.0] * col
    for k in range(col - 1, -1, -1):
        j = (head + k) % m
        alpha[k] = rho[j] * _dot8(S[j], q)
        q = [qi - alpha[k] * yi for qi, yi in zip(q, Y[j])]
    q = [qi / theta for qi in q]
    for k in range(col):
        j = (head + k) % m
        b = rho[j] * _dot8(Y[j], q)
        q = [qi + si * (alpha[k] - b) for qi, si in zip(q, S[j])]
    return q


@numba.njit
def _reductions(a, a_off, b, b_off, n):
    return vectors.dot(a, a_off, b, b_off, n), vectors.max_abs(a[a_off : a_off + n])


def test_the_vector_reductions_give_the_plain_loops_numbers():
    """``vectors.dot`` is ``_dot8`` and ``vectors.max_abs`` the largest |a_i| skipping
    NaN, exactly, for every length (multiples of 8 or not), offset and kind of value."""
    rng = np.random.default_rng(1)
    for n in [*range(0, 42), 1000, 10_501]:
        for a_off, b_off in ((0, 0), (3, 5), (8, 1)):
            a = rng.normal(size=a_off + n) * 10.0 ** rng.integers(-8, 8, size=a_off + n)
            b = rng.normal(size=b_off + n)
            if n and rng.random() < 0.3:  # NaN, infinities and zeros of both signs
                a[a_off + rng.integers(0, n, size=3)] = rng.choice([np.nan, np.inf, -np.inf, -0.0])
            dot, top = _reductions(a, a_off, b, b_off, n)
            terms = a[a_off : a_off + n].tolist()
            expected = _dot8(terms, b[b_off : b_off + n].tolist())
            assert np.float64(dot).tobytes() == np.float64(expected).tobytes(), (n, a_off)
            finite = [abs(v) for v in terms if v == v]
            assert top == max(finite, default=0.0), (n, a_off)


@numba.njit
def _updates(out, src, u, u_off, c, divisor, v, v_off, n):
    if divisor == 1.0:
        return vectors.update_dot(out, src, u, u_off, c, v, v_off, n)
    return vectors.update_scale_dot(out, src, u, u_off, c, divisor, v, v_off, n)


@pytest.mark.parametrize("divisor", [1.0, 3.7])
@pytest.mark.parametrize("in_place", [False, True])
def test_the_fused_update_and_dot_give_the_plain_loops_numbers(divisor, in_place):
    """``update_dot`` (``update_scale_dot``) is ``out = (src + u c) / divisor`` and then
    ``_dot8(v, out)``, exactly, for every length and offset."""
    rng = np.random.default_rng(2)
    for n in [*range(0, 42), 10_501]:
        u_off, v_off = int(rng.integers(0, 9)), int(rng.integers(0, 9))
        src, u, v = rng.normal(size=n), rng.normal(size=u_off + n), rng.normal(size=v_off + n)
        c = float(rng.normal())
        out = src.copy() if in_place else np.zeros(n)
        product = _updates(out, out if in_place else src, u, u_off, c, divisor, v, v_off, n)
        expected = [(s + w * c) / divisor for s, w in zip(src.tolist(), u[u_off:].tolist())]
        assert out.tobytes() == np.array(expected).tobytes(), n
        assert product == _dot8(v[v_off:].tolist(), expected), n


def test_the_direction_is_the_two_loop_recursion_bit_for_bit():
    """The sweeps of ``_direction`` give the plain loops' numbers exactly, for any
    number of pairs, ring position and length (a multiple of 8 or not)."""
    direction = lbfgs._direction  # (compiled, or Python under NUMBA_DISABLE_JIT)
    rng = np.random.default_rng(0)
    for _ in range(60):
        n, m = int(rng.integers(1, 30)), int(rng.integers(1, 11))
        opt = lbfgs.start(rng.normal(size=n), 100, 100, 1e-5, m=m)
        col, head = int(rng.integers(1, m + 1)), int(rng.integers(0, m))
        opt.ints[lbfgs.COL], opt.ints[lbfgs.HEAD] = col, head
        opt.floats[lbfgs.THETA] = rng.uniform(0.1, 10)
        opt.S[:] = rng.normal(size=(m, n)) * 10.0 ** rng.integers(-5, 5)
        opt.Y[:] = rng.normal(size=(m, n))
        opt.rho[:] = 1 / rng.uniform(0.1, 5, size=m)
        opt.g[:] = rng.normal(size=n)
        direction(opt)
        q = _two_loop(opt.g, opt.S, opt.Y, opt.rho, head, col, opt.floats[lbfgs.THETA])
        z = [xi - qi for xi, qi in zip(opt.x, q)]
        expected = np.array([zi - xi for zi, xi in zip(z, opt.x)])
        assert opt.d.tobytes() == expected.tobytes(), (n, m, col, head)


@pytest.mark.parametrize("max_iter", [1, 40])
def test_state_buffers_are_written_before_they_are_read(max_iter, monkeypatch):
    # lbfgs.start leaves its buffers uninitialised (np.empty): a run whose buffers
    # start as NaN must be the run whose buffers start as zeros, bit for bit, through
    # more iterations than the m = 10 pairs (the ring's rows reused)
    net, X, Y, alpha = _problem((3, 16, 16, 2))
    results, start = [], lbfgs.start
    for fill in (0.0, np.nan):

        def filled(*args, fill=fill, **kwargs):
            opt = start(*args, **kwargs)
            for name in ("g", "t", "r", "d", "z", "q", "alpha", "x_evaluated", "g_evaluated",
                         "S", "Y", "rho", "curve"):  # fmt: skip
                getattr(opt, name).fill(fill)
            return opt

        monkeypatch.setattr(lbfgs, "start", filled)
        res = _run(net, X, Y, alpha, max_iter)
        results.append((res.x.copy(), res.fun, res.nit, res.nfev, res.message))
    (x0, *rest0), (x1, *rest1) = results
    assert np.array_equal(x0, x1) and not np.isnan(x1).any()
    assert rest0 == rest1 and rest0[1] == max_iter
