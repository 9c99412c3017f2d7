"""The four reference cases of the benchmark suite, their data and their flop counts.

Every case is a regression on synthetic data made here: ``X ~ N(0, 1)`` and
``y = tanh(X @ W)`` for a fixed random ``W`` (n_features x n_outputs), scaled by
``1/sqrt(n_features)`` so that ``X @ W`` has unit variance and ``tanh`` is not
saturated. Training is plain minibatch SGD: learning rate 0.01, no momentum, no
L2 penalty, a fresh shuffle every epoch.
"""

from dataclasses import dataclass

import numpy as np

LEARNING_RATE = 0.01
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Case:
    name: str
    layers: tuple  # units per layer, input and output included
    n_samples: int
    batch_size: int
    activation: str  # hidden activation, scikit-learn's name

    @property
    def n_features(self):
        return self.layers[0]

    @property
    def n_outputs(self):
        return self.layers[-1]

    @property
    def hidden(self):
        return tuple(self.layers[1:-1])

    @property
    def label(self):
        return "-".join(map(str, self.layers))


CASES = {
    c.name: c
    for c in (
        Case("seed", (1, 2, 1), 1_000, 1, "logistic"),
        Case("small", (8, 16, 1), 20_000, 32, "relu"),
        Case("mid", (64, 128, 64, 10), 20_000, 64, "relu"),
        Case("large", (784, 256, 128, 10), 10_000, 128, "relu"),
    )
}


def smoke_samples(case):
    """Samples of a smoke run (plain ``pytest``): a few minibatches and a ragged last one,
    so that every code path of an epoch runs, in a fraction of the case's time."""
    return min(case.n_samples, max(200, 8 * case.batch_size + case.batch_size // 2))


def make_data(case, dtype, n_samples=None, seed=0):
    """X (n, n_features) and y ((n,) for one output, else (n, n_outputs)) in ``dtype``.

    The same seed gives the same W whatever ``n_samples`` is, so the scaling
    runs (bench/scaling.py) learn one function from more or fewer samples.
    """
    n = case.n_samples if n_samples is None else n_samples
    w_rng = np.random.default_rng(seed)
    W = w_rng.standard_normal((case.n_features, case.n_outputs)) / np.sqrt(case.n_features)
    x_rng = np.random.default_rng(seed + 1)
    X = x_rng.standard_normal((n, case.n_features))
    y = np.tanh(X @ W)
    if case.n_outputs == 1:
        y = y[:, 0]
    return np.ascontiguousarray(X, dtype=dtype), np.ascontiguousarray(y, dtype=dtype)


def squared_error(pred, y):
    """scikit-learn's squared_error loss: half the mean of squared residuals."""
    pred = np.asarray(pred, dtype=np.float64).reshape(y.shape)
    return float(np.mean((pred - y.astype(np.float64)) ** 2) / 2)


def batch_sizes(case, n_samples=None):
    """Rows of each minibatch of one epoch, the last one ragged if need be."""
    n = case.n_samples if n_samples is None else n_samples
    full, rest = divmod(n, case.batch_size)
    return [case.batch_size] * full + ([rest] if rest else [])


def products(case, rows):
    """The matrix products a minibatch of ``rows`` rows performs, in the order an epoch
    performs them, as (kind, m, k, n) for an (m x k) @ (k x n) product.

    Per layer with fan-in a and fan-out b: the forward product A @ W, (rows x a) @ (a x b);
    then backwards, the weight gradient A.T @ D, (a x rows) @ (rows x b) and, for every
    layer except the first, the backward message D @ W.T, (rows x b) @ (b x a).
    """
    layers = list(zip(case.layers[:-1], case.layers[1:]))
    out = [("forward", rows, a, b) for a, b in layers]
    for i in range(len(layers) - 1, -1, -1):
        a, b = layers[i]
        out.append(("weight", a, rows, b))
        if i > 0:
            out.append(("message", rows, b, a))
    return out


def epoch_flops(case, n_samples=None):
    """Floating-point operations of the matrix products of one epoch, 2*m*n*k each.

    Activations, losses and updates are left out: they are O(rows * units), not
    O(rows * units^2), and no BLAS rate covers them.
    """
    return sum(
        2 * m * k * n
        for rows in batch_sizes(case, n_samples)
        for _, m, k, n in products(case, rows)
    )
