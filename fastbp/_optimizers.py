"""In-place parameter updates over the flat buffer, scikit-learn's formulas.

Each step is one pass over ``params`` whatever the architecture, and finishes
the gradient on the way: the backward pass leaves in ``grad`` the sums over the
batch's rows, and the step uses

    g = (grad + alpha W) / S   for the weights (the first ``n_coefs`` entries),
    g = grad / S               for the intercepts,

the gradient ``_backward.finish_gradient`` would write, with the same rounding
(S = 1, alpha = 0, n_coefs = 0 take ``grad`` as it is). Finishing and updating
in one pass reads and writes the buffers once per batch instead of twice. When
S = 1 (a batch of one row of unit weight) the division is skipped: x / 1 = x
exactly, and on the seed network the divisions were a tenth of an epoch.

The steps are inlined into the epoch loops: a call passes each array as seven
machine words, which on a network of a few weights costs more than the step.

Scalars are cast to the buffer's dtype where scikit-learn's NumPy code would do
the same, so float32 training runs in float32.

    sgd:       v <- momentum v - lr g;  params += v                (plain, momentum)
               params += momentum v - lr g  after updating v       (Nesterov)
    adam:      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
               lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
               params -= lr_t m / (sqrt(v) + eps)   (eps added to the uncorrected sqrt(v))
"""

import math

from ._config import jit_inline


@jit_inline
def sgd_step(params, grad, velocity, lr, momentum, nesterov, n_coefs=0, alpha=0.0, S=1.0):
    """One SGD step with (Nesterov) momentum; ``velocity`` is updated in place,
    unless momentum is 0: then it is neither read nor written (it may be empty)."""
    dt = params.dtype.type
    lr_, mu, a, s = dt(lr), dt(momentum), dt(alpha), dt(S)
    unit = S == 1
    if momentum == 0:
        # v = 0 v - lr g = -lr g for any finite v, Nesterov or not: the step is
        # params -= lr g, without reading or writing the velocity (on the large
        # bench network, two of the five passes over 235k values per batch)
        for q in range(n_coefs):
            plain_sgd_one(params, q, grad[q] + a * params[q], s, unit, lr_)
        for q in range(n_coefs, params.shape[0]):
            plain_sgd_one(params, q, grad[q], s, unit, lr_)
        return
    for q in range(n_coefs):
        _sgd_one(params, velocity, q, grad[q] + a * params[q], s, unit, lr_, mu, nesterov)
    for q in range(n_coefs, params.shape[0]):
        _sgd_one(params, velocity, q, grad[q], s, unit, lr_, mu, nesterov)


@jit_inline
def plain_sgd_one(params, q, g, s, unit, lr):
    """params[q] -= lr g / s (g / 1 skipped): the plain step for one entry, also taken
    by ``_engine.run_epoch_row_by_row`` inside its backward sweep."""
    if not unit:
        g = g / s
    params[q] -= lr * g


@jit_inline
def _sgd_one(params, velocity, q, g, s, unit, lr, mu, nesterov):
    if not unit:
        g = g / s
    v = mu * velocity[q] - lr * g
    velocity[q] = v
    if nesterov:
        v = mu * v - lr * g
    params[q] += v


@jit_inline
def adam_step(params, grad, m, v, t, lr, beta_1, beta_2, epsilon, n_coefs=0, alpha=0.0, S=1.0):
    """Adam step number ``t`` (counted from 1); ``m`` and ``v`` are updated in place."""
    dt = params.dtype.type
    b1, c1 = dt(beta_1), dt(1 - beta_1)
    b2, c2 = dt(beta_2), dt(1 - beta_2)
    eps, a, s = dt(epsilon), dt(alpha), dt(S)
    unit = S == 1
    lr_t = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    for q in range(n_coefs):
        _adam_one(params, m, v, q, grad[q] + a * params[q], s, unit, lr_t, b1, c1, b2, c2, eps)
    for q in range(n_coefs, params.shape[0]):
        _adam_one(params, m, v, q, grad[q], s, unit, lr_t, b1, c1, b2, c2, eps)


@jit_inline
def _adam_one(params, m, v, q, g, s, unit, lr_t, b1, c1, b2, c2, eps):
    if not unit:
        g = g / s
    m[q] = b1 * m[q] + c1 * g
    v[q] = b2 * v[q] + c2 * (g * g)
    params[q] += -lr_t * m[q] / (math.sqrt(v[q]) + eps)
