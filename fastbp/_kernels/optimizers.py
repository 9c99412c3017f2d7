"""In-place parameter updates over the flat buffer, scikit-learn's formulas.

Each step is one pass over ``params`` whatever the architecture, and finishes
the gradient on the way: the backward pass leaves in ``grad`` the sums over the
batch's rows, and the step uses

    g = (grad + alpha W) / S   for the weights (the first ``n_coefs`` entries),
    g = grad / S               for the intercepts,

the gradient ``backward.finish_gradient`` would write, with the same rounding
(S = 1, alpha = 0, n_coefs = 0 take ``grad`` as it is). Finishing and updating
in one pass reads and writes the buffers once per batch instead of twice. The
division by S is skipped when S = 1 (x / 1 = x), and is a product by 1 / S when S
is a power of two (the same bits: ``backward.per_batch``).

The steps are inlined into ``epochs.take_step``, which the epoch kernels call
once per batch: compiled once for all of them, at the cost of one call per batch
(DESIGN.md). The plain SGD step of one weight or bias after one row (``swept``,
``stepped``) is taken inside the backward sweep of the generated kernels
(``generated``); the compiler inlines it there.

Scalars are cast to the buffer's dtype where scikit-learn's NumPy code would do
the same, so float32 training runs in float32.

    sgd:       v <- momentum v - lr g;  params += v                (plain, momentum)
               params += momentum v - lr g  after updating v       (Nesterov)
    adam:      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
               lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
               params -= lr_t m / (sqrt(v) + eps)   (eps added to the uncorrected sqrt(v))
"""

import math

from .backward import exact_reciprocal, per_batch
from .config import jit_inline, jit_internal


@jit_inline
def sgd_step(params, grad, velocity, lr, momentum, nesterov, n_coefs=0, alpha=0.0, S=1.0):
    """One SGD step with (Nesterov) momentum; ``velocity`` is updated in place,
    unless momentum is 0: then it is neither read nor written (it may be empty)."""
    dt = params.dtype.type
    lr_, mu, a, s = dt(lr), dt(momentum), dt(alpha), dt(S)
    inv = dt(exact_reciprocal(S))
    if momentum == 0:
        # v = 0 v - lr g = -lr g for any finite v, Nesterov or not: the step is
        # params -= lr g, without reading or writing the velocity (on the large
        # bench network, two of the five passes over 235k values per batch)
        for q in range(n_coefs):
            params[q] = stepped(params[q], grad[q] + a * params[q], s, inv, lr_)
        for q in range(n_coefs, params.shape[0]):
            params[q] = stepped(params[q], grad[q], s, inv, lr_)
        return
    for q in range(n_coefs):
        _sgd_one(params, velocity, q, grad[q] + a * params[q], s, inv, lr_, mu, nesterov)
    for q in range(n_coefs, params.shape[0]):
        _sgd_one(params, velocity, q, grad[q], s, inv, lr_, mu, nesterov)


@jit_internal
def swept(w, a, d, alpha, a_, s, inv, lr):
    """Weight w after the plain SGD step for one row's gradient a * d, plus a_ * w when
    alpha (L2; a_ is alpha in w's dtype) is not 0: the step the generated kernels
    take inside their backward sweep. Without L2 the + 0 w (which changes nothing but
    the sign of a zero) is skipped.

    A call rather than inlined (jit_inline): LLVM inlines it all the same, while
    Numba's own inlining of its branches at every weight of a generated kernel
    (``generated``) cost seconds of compilation."""
    return stepped(w, a * d if alpha == 0 else a * d + a_ * w, s, inv, lr)


@jit_internal
def stepped(w, g, s, inv, lr):
    """w - lr g / s: the plain SGD step of one weight or bias w, gradient g, batch
    weight s (``per_batch``); taken by ``sgd_step`` without momentum and inside the
    generated kernels' sweep (``swept``, and for biases directly)."""
    return w - lr * per_batch(g, s, inv)


@jit_inline
def _sgd_one(params, velocity, q, g, s, inv, lr, mu, nesterov):
    g = per_batch(g, s, inv)
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
    inv = dt(exact_reciprocal(S))
    # beta ** t as Python computes it for scikit-learn, C's pow: Numba's ** and
    # math.pow with an integer exponent multiply instead (other last bits)
    lr_t = lr * math.sqrt(1 - math.pow(beta_2, float(t))) / (1 - math.pow(beta_1, float(t)))
    for q in range(n_coefs):
        _adam_one(params, m, v, q, grad[q] + a * params[q], s, inv, lr_t, b1, c1, b2, c2, eps)
    for q in range(n_coefs, params.shape[0]):
        _adam_one(params, m, v, q, grad[q], s, inv, lr_t, b1, c1, b2, c2, eps)


@jit_inline
def _adam_one(params, m, v, q, g, s, inv, lr_t, b1, c1, b2, c2, eps):
    g = per_batch(g, s, inv)
    m[q] = b1 * m[q] + c1 * g
    v[q] = b2 * v[q] + c2 * (g * g)
    params[q] += -lr_t * m[q] / (math.sqrt(v[q]) + eps)
