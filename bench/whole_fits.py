"""Whole fits as users run them: small tabular sets, fit by fit, side by side.

Where scikit-learn's MLP is used most, a fit's time is not its epochs' arithmetic
but what surrounds it. Here each system fits the classifier of scikit-learn's
defaults (100 ReLU units, batches of 200, tol 1e-4 over 10 epochs, at most 200
epochs or iterations) on standardised small sets from ``sklearn.datasets`` with
sgd, adam and lbfgs, the whole fit timed, as a user calls it:

- fastbp;
- scikit-learn on one BLAS thread, and on its default threads (OpenBLAS's threads
  on tiny products cost more than they save, which its users feel);
- JAX (sgd and adam), the whole fit jitted: ``lax.while_loop`` over epochs with the
  same stopping rule, each epoch's minibatches in ``lax.fori_loop``: the anchor for
  a fit with no per-epoch overhead (its arithmetic is JAX's own; no lbfgs).

Systems are timed in turn, round by round (the order rotating), each for ~ROUND_S
of repeated fits; the figures are the median seconds per fit and the median over
rounds of each system's time over fastbp's. fastbp's time is then split into its
fixed cost per fit, its per-epoch (per-iteration) time, and of that the
arithmetic: the epoch kernel alone called in a compiled loop, on the rows in a
shuffled order, as an epoch visits them (the gathering of rows in that order is
arithmetic, the draws of the order are not; for lbfgs: one evaluation of the loss
and gradient, where an iteration may make more); the rest is overhead.

    python -m bench.whole_fits [--json bench/whole_fits.json] [--sets iris moons]
"""

import argparse
import json
import time
import warnings
from contextlib import contextmanager
from statistics import median

import numpy as np

from bench.interleaved import in_turn
from bench.timing import timed
from fastbp._files import replace_text

ROUND_S = 0.2
ROUNDS = 5
SOLVERS = ("sgd", "adam", "lbfgs")
# each set's hidden layers: scikit-learn's default, but for the two-feature sets of
# 100 rows, two layers of 100 (issue 18's "moons-sized" fit)
SETS = {
    "iris": (100,),
    "wine": (100,),
    "breast_cancer": (100,),
    "digits": (100,),
    "moons": (100, 100),
    "circles": (100, 100),
}


def load(name):
    """The set's X (standardised) and y."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    if name in ("moons", "circles"):
        make = datasets.make_moons if name == "moons" else datasets.make_circles
        kwargs = {"noise": 0.2} if name == "moons" else {"noise": 0.1, "factor": 0.5}
        X, y = make(n_samples=100, random_state=0, **kwargs)
    else:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fastbp_fit(hidden, solver, X, y, **params):
    from fastbp import MLPClassifier

    est = MLPClassifier(hidden_layer_sizes=hidden, solver=solver, random_state=0, **params)
    return est.fit(X, y)


def sklearn_fit(hidden, solver, X, y, **params):
    from sklearn.neural_network import MLPClassifier

    est = MLPClassifier(hidden_layer_sizes=hidden, solver=solver, random_state=0, **params)
    return est.fit(X, y)


def one_thread(fit):
    from threadpoolctl import threadpool_limits

    def run(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fit(*args, **kwargs)

    return run


def systems(solver):
    found = {
        "fastbp": fastbp_fit,
        "scikit-learn (1 thread)": one_thread(sklearn_fit),
        "scikit-learn": sklearn_fit,
    }
    if solver != "lbfgs":
        try:
            found["JAX (whole fit jitted)"] = jax_fitter()
        except ImportError:
            pass
    return found


def repeat(fit, args, n):
    for _ in range(n):
        fit(*args)


def measure_pair(name, solver, rounds=ROUNDS, round_s=ROUND_S):
    """{"seconds": {system: s/fit}, "vs_fastbp": {system: ratio}, "epochs": {system: n}}."""
    X, y = load(name)
    hidden = SETS[name]
    args = (hidden, solver, X, y)
    fits = systems(solver)
    n, epochs = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s, fit in fits.items():
            est = fit(*args)  # compile (XLA), warm up: not timed
            epochs[s] = int(getattr(est, "n_iter_", 0))
            n[s] = max(1, int(round_s / max(timed(fit, *args), 1e-6)))
        per_fit = {s: lambda s=s: timed(repeat, fits[s], args, n[s]) / n[s] for s in fits}
        turns = in_turn(per_fit, rounds)
    classes = len(np.unique(y))
    return dict(
        rows=int(X.shape[0]),
        layers=[int(X.shape[1]), *hidden, classes if classes > 2 else 1],
        **turns,
        epochs=epochs,
        split=split(hidden, solver, X, y),
    )


def split(hidden, solver, X, y):
    """fastbp's fit time split: fixed cost per fit, time per epoch (or iteration), and
    of it the arithmetic. From fits with no stopping rule of 20 and 220 epochs (the
    fastest of 7 each): per epoch = the difference over the 200 epochs between. For
    lbfgs, which may converge first (tol 0 and its own rules), fits of 3 and 200
    iterations, over the iterations each made; None if they differ by fewer than 10."""
    with warnings.catch_warnings(), counting_evaluations() as evaluations:
        warnings.simplefilter("ignore")
        endless = dict(tol=0.0, n_iter_no_change=10**9)
        params = endless if solver != "lbfgs" else dict(tol=0.0)
        short_k, long_k = (20, 220) if solver != "lbfgs" else (3, 200)
        fastbp_fit(hidden, solver, X, y, max_iter=short_k, **params)

        def fit_time(k):
            times = []
            for _ in range(7):
                start = time.perf_counter()
                est = fastbp_fit(hidden, solver, X, y, max_iter=k, **params)
                times.append(time.perf_counter() - start)
            return min(times), est

        short, first = fit_time(short_k)
        long, est = fit_time(long_k)
    epochs = est.n_iter_ - first.n_iter_
    per_epoch = (long - short) / epochs if epochs >= 10 else None
    kernel, draws = arithmetic(est, solver, X, y)
    if solver == "lbfgs":  # the evaluations of an iteration, line searches' included
        kernel *= evaluations[-1] / est.n_iter_
    return dict(
        fixed_s=None if per_epoch is None else short - first.n_iter_ * per_epoch,
        per_epoch_s=per_epoch,
        arithmetic_s=kernel,
        draws_s=draws,
        evaluations_per_iteration=evaluations[-1] / est.n_iter_ if solver == "lbfgs" else None,
        unit="iteration" if solver == "lbfgs" else "epoch",
    )


@contextmanager
def counting_evaluations():
    """The number of evaluations of the loss and gradient of each lbfgs fit inside, in a
    list (scipy's nfev, as fastbp's L-BFGS counts them)."""
    import fastbp._base

    found, minimize = [], fastbp._base.minimize_lbfgs

    def counted(*args, **kwargs):
        res, n_iter = minimize(*args, **kwargs)
        found.append(res.nfev)
        return res, n_iter

    fastbp._base.minimize_lbfgs = counted
    try:
        yield found
    finally:
        fastbp._base.minimize_lbfgs = minimize


def arithmetic(est, solver, X, y):
    """Seconds per epoch of (1) the epoch kernel and its row order's draws, called in a
    compiled loop, each time on a new order drawn as a fit draws it (lbfgs: of one
    evaluation of the loss and gradient), and (2) of those draws alone (lbfgs: 0), on
    the BLAS threads the fit takes (the estimator's own rule, ``_threads``)."""
    with est._blas_threads(X.shape[0]):
        return _arithmetic(est, solver, X, y)


def _arithmetic(est, solver, X, y):
    import numba

    from fastbp._kernels import epochs, passes, protocol
    from fastbp._kernels.shuffle import shuffle
    from fastbp._shuffle import Shuffler

    net = est._network
    Y = est._label_binarizer.transform(y).astype(net.dtype)
    data = protocol.data(X, net.dtype)
    targets = protocol.targets(Y, np.ones(X.shape[0], dtype=net.dtype))
    rows = np.arange(X.shape[0], dtype=np.int64)
    loss = est._loss()
    if solver == "lbfgs":
        work = net._training_work(X.shape[0])

        @numba.njit
        def evaluations(n, data, targets, rows, net, work, loss):
            total = 0.0
            for _ in range(n):
                total += passes.loss_gradient(data, targets, rows, net, work, loss)
            return total

        return _per_call(evaluations, (data, targets, rows, net._net, work, loss)), 0.0
    batch = min(200, X.shape[0])
    work = net._training_work(batch)
    state = np.zeros((2, net.params.size), dtype=net.dtype)
    code = 1 if solver == "adam" else 0
    step = protocol.step(code, 1e-9, 0.9, True)
    moments = protocol.moments(state)
    shuffler = Shuffler(np.random.RandomState(0))
    drawing = shuffler.arrays()

    @numba.njit
    def epochs_of(n, drawing, data, targets, rows, net, work, loss, moments, step):
        total = 0.0
        for _ in range(n):
            shuffle(rows, drawing[0], drawing[1])
            total += epochs.run_epoch(data, targets, rows, net, work, loss, moments, step)[0]
        return total

    @numba.njit
    def draws_of(n, drawing, rows):
        for _ in range(n):
            shuffle(rows, drawing[0], drawing[1])
        return 0.0

    args = (drawing, data, targets, rows, net._net, work, loss, moments, step)
    return _per_call(epochs_of, args), _per_call(draws_of, (drawing, rows))


def _per_call(loop, args):
    """Seconds per call of ``loop(n, *args)``'s body: the median of 7 runs of 50."""
    loop(1, *args)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        loop(50, *args)
        times.append((time.perf_counter() - start) / 50)
    return median(times)


def jax_fitter():
    """A classifier's whole fit in one jitted JAX function: scikit-learn's
    initialisation scheme, softmax cross-entropy with its L2 term, minibatches of
    200 rows (the last padded, with weight 0), sgd (momentum 0.9, Nesterov) or adam
    at scikit-learn's defaults, and its stopping rule on the training loss."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    compiled = {}

    def build(hidden, solver, n, d, k, batch, max_iter=200, tol=1e-4, patience=10, alpha=1e-4):
        n_batches = -(-n // batch)
        lr, momentum, b1, b2, eps = 1e-3, 0.9, 0.9, 0.999, 1e-8

        def loss_of(params, xb, yb, wb):
            h = xb
            for W, b in zip(params[:-2:2], params[1:-2:2]):
                h = jnp.maximum(h @ W + b, 0)
            logits = h @ params[-2] + params[-1]
            ce = -jnp.sum(jax.nn.log_softmax(logits) * yb, axis=1)
            s = jnp.sum(wb)
            l2 = sum(jnp.sum(W**2) for W in params[::2])
            return jnp.sum(ce * wb) / s + 0.5 * alpha * l2 / s

        grad = jax.value_and_grad(loss_of)

        def epoch(carry, key, X, Y):
            params, state, t = carry
            order = jax.random.permutation(key, n)
            pad = n_batches * batch - n
            order = jnp.concatenate([order, jnp.zeros(pad, dtype=order.dtype)])
            weights = jnp.concatenate([jnp.ones(n), jnp.zeros(pad)])

            def one(i, c):
                params, state, t, total = c
                idx = jax.lax.dynamic_slice(order, (i * batch,), (batch,))
                wb = jax.lax.dynamic_slice(weights, (i * batch,), (batch,))
                value, g = grad(params, X[idx], Y[idx], wb)
                t = t + 1
                if solver == "adam":
                    m, v = state
                    m = [b1 * a + (1 - b1) * b for a, b in zip(m, g)]
                    v = [b2 * a + (1 - b2) * b * b for a, b in zip(v, g)]
                    step = lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
                    params = [p - step * a / (jnp.sqrt(b) + eps) for p, a, b in zip(params, m, v)]
                    state = (m, v)
                else:
                    vel = [momentum * a - lr * b for a, b in zip(state, g)]
                    params = [p + momentum * a - lr * b for p, a, b in zip(params, vel, g)]
                    state = vel
                return params, state, t, total + value * jnp.sum(wb)

            params, state, t, total = jax.lax.fori_loop(0, n_batches, one, (params, state, t, 0.0))
            return (params, state, t), total / n

        def fit(params, X, Y, key):
            zeros = [jnp.zeros_like(p) for p in params]
            state = (zeros, zeros) if solver == "adam" else zeros

            def cond(c):
                _, _, _, it, _, bad, _ = c
                return (it < max_iter) & (bad <= patience)

            def body(c):
                params, state, t, it, best, bad, key = c
                key, sub = jax.random.split(key)
                (params, state, t), value = epoch((params, state, t), sub, X, Y)
                bad = jnp.where(value > best - tol, bad + 1, 0)
                best = jnp.minimum(best, value)
                return params, state, t, it + 1, best, bad, key

            c = (params, state, 0, 0, jnp.inf, 0, key)
            return jax.lax.while_loop(cond, body, c)

        return jax.jit(fit)

    def run(hidden, solver, X, y, **params):
        n, d = X.shape
        classes = np.unique(y)
        k = len(classes)
        Y = (y[:, None] == classes[None, :]).astype(np.float64)
        key = (hidden, solver, n, d, k)
        if key not in compiled:
            compiled[key] = build(hidden, solver, n, d, k, min(200, n))
        rng = np.random.default_rng(0)
        params = []
        sizes = [d, *hidden, k]
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(6 / (fan_in + fan_out))
            params += [
                rng.uniform(-bound, bound, (fan_in, fan_out)),
                rng.uniform(-bound, bound, fan_out),
            ]
        out = compiled[key](params, jnp.asarray(X), jnp.asarray(Y), jax.random.PRNGKey(0))
        jax.block_until_ready(out)
        return _JaxFit(int(out[3]))

    return run


class _JaxFit:
    def __init__(self, n_iter):
        self.n_iter_ = n_iter


def measure(sets=tuple(SETS), solvers=SOLVERS, rounds=ROUNDS, round_s=ROUND_S):
    results = {}
    for name in sets:
        for solver in solvers:
            r = results[f"{name}-{solver}"] = measure_pair(name, solver, rounds, round_s)
            ratios = ", ".join(f"{s} {v:.3g}x" for s, v in r["vs_fastbp"].items())
            print(f"{name} {solver}: fastbp {r['seconds']['fastbp'] * 1e3:.3g} ms/fit; {ratios}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    results = measure(args.sets, args.solvers, args.rounds)
    if args.json:
        replace_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
