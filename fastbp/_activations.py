"""Activation kernels: the forward function f and its derivative f'.

``activate`` applies f in place to a block of pre-activations z (rows =
samples). ``backprop_derivative`` multiplies a block of backward messages by
f'(in_k), computed from the layer's *outputs* out_k = f(in_k) so that the
forward pass needs to keep only one buffer per layer (as scikit-learn does):

    logistic   f' = out (1 - out)
    tanh       f' = 1 - out^2
    relu       f' = 1 if out > 0 else 0
    softplus   f' = sigmoid(in) = 1 - exp(-out)
    leaky_relu f' = 1 if out > 0 else 0.01

Every form here is safe for any finite input: logistic and softplus never call
exp on a positive argument, softmax subtracts the row maximum first.
"""

import math

from ._config import jit
from ._tables import EXP, IDENTITY, LEAKY_RELU, LEAKY_SLOPE, LOGISTIC, RELU, SOFTMAX, SOFTPLUS, TANH


@jit
def activate(Z, code):
    """Apply activation ``code`` in place to the rows of ``Z``."""
    n, m = Z.shape
    if code == IDENTITY:
        return
    if code == SOFTMAX:
        for i in range(n):
            top = Z[i, 0]
            for j in range(1, m):
                if Z[i, j] > top:
                    top = Z[i, j]
            total = Z.dtype.type(0)
            for j in range(m):
                Z[i, j] = math.exp(Z[i, j] - top)
                total += Z[i, j]
            for j in range(m):
                Z[i, j] /= total
        return
    for i in range(n):
        for j in range(m):
            z = Z[i, j]
            if code == RELU:
                if z < 0:
                    z = 0
            elif code == LOGISTIC:
                if z >= 0:
                    z = 1 / (1 + math.exp(-z))
                else:
                    e = math.exp(z)
                    z = e / (1 + e)
            elif code == TANH:
                z = math.tanh(z)
            elif code == SOFTPLUS:
                z = max(z, 0) + math.log1p(math.exp(-abs(z)))
            elif code == LEAKY_RELU:
                if z < 0:
                    z = LEAKY_SLOPE * z
            elif code == EXP:
                z = math.exp(z)
            Z[i, j] = z


@jit
def backprop_derivative(out, D, code):
    """Multiply the messages ``D`` in place by f'(in), read from ``out`` = f(in)."""
    n, m = D.shape
    if code == IDENTITY:
        return
    for i in range(n):
        for j in range(m):
            a = out[i, j]
            if code == RELU:
                if a <= 0:
                    D[i, j] = 0
            elif code == LOGISTIC:
                D[i, j] *= a
                D[i, j] *= 1 - a
            elif code == TANH:
                D[i, j] *= 1 - a * a
            elif code == SOFTPLUS:
                D[i, j] *= -math.expm1(-a)
            elif code == LEAKY_RELU:
                if a <= 0:
                    D[i, j] *= LEAKY_SLOPE
