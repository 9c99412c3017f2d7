"""In-place parameter updates over the flat buffer, scikit-learn's formulas.

One loop over ``params`` per step, whatever the architecture. Scalars are
cast to the buffer's dtype where scikit-learn's NumPy code would do the same,
so float32 training runs in float32.

    sgd:       v <- momentum v - lr g;  params += v                (plain, momentum)
               params += momentum v - lr g  after updating v       (Nesterov)
    adam:      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
               lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)
               params -= lr_t m / (sqrt(v) + eps)   (eps added to the uncorrected sqrt(v))
"""

import math

from ._config import jit


@jit
def sgd_step(params, grad, velocity, lr, momentum, nesterov):
    """One SGD step with (Nesterov) momentum; ``velocity`` is updated in place."""
    dt = params.dtype.type
    lr_, mu = dt(lr), dt(momentum)
    for q in range(params.shape[0]):
        v = mu * velocity[q] - lr_ * grad[q]
        velocity[q] = v
        if nesterov:
            v = mu * v - lr_ * grad[q]
        params[q] += v


@jit
def adam_step(params, grad, m, v, t, lr, beta_1, beta_2, epsilon):
    """Adam step number ``t`` (counted from 1); ``m`` and ``v`` are updated in place."""
    dt = params.dtype.type
    b1, c1 = dt(beta_1), dt(1 - beta_1)
    b2, c2 = dt(beta_2), dt(1 - beta_2)
    eps = dt(epsilon)
    lr_t = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    for q in range(params.shape[0]):
        g = grad[q]
        m[q] = b1 * m[q] + c1 * g
        v[q] = b2 * v[q] + c2 * (g * g)
        params[q] += -lr_t * m[q] / (math.sqrt(v[q]) + eps)
