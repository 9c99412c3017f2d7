"""Activation kernels: the forward function f and its derivative f'.

Both work in place on a block of a flat buffer holding ``n`` rows of ``m``
values (rows = samples). ``activate`` applies f to pre-activations in_k.
``backprop_derivative`` multiplies backward messages by f'(in_k), computed
from the layer's *outputs* out_k = f(in_k), so the forward pass keeps only
one buffer per layer (as scikit-learn does):

    logistic   f' = out (1 - out)
    tanh       f' = 1 - out^2
    relu       f' = 1 if out > 0 else 0
    softplus   f' = sigmoid(in) = 1 - exp(-out)
    leaky_relu f' = 1 if out > 0 else 0.01

Each function has a kernel of its own (``relu``, ``relu_derivative``, ...), which
``activate`` and ``backprop_derivative`` pick by code and the generated kernels
call by name (``FORWARD``, ``DERIVATIVE``): a kernel compiled for one activation
then compiles that one only.

Every form here is safe for any finite input: logistic never calls exp on an
argument that overflows, softplus never on a positive one, softmax subtracts
the row maximum first, and exp saturates at the dtype's largest and smallest
normal numbers.
"""

import math

from numba import uint64

from . import numpy_math
from .codes import EXP, LEAKY_RELU, LEAKY_SLOPE, LOGISTIC, RELU, SOFTMAX, SOFTPLUS, TANH
from .config import jit_inline
from .sums import IN_PLACE, block_sum

# logistic: where e^-z would overflow float32 / float64 (just below log(max))
LOGISTIC_CAP_32, LOGISTIC_CAP_64 = 88.72, 709.78
# exp: its input's bounds, just inside log(tiny) and log(max) of float32 / float64
EXP_BOUNDS_32, EXP_BOUNDS_64 = (-87.0, 88.0), (-708.0, 709.0)


@jit_inline
def activate(buf, off, n, m, code):
    """Apply activation ``code`` in place to buf[off : off + n * m] ((n, m) rows)."""
    if code == SOFTMAX:
        softmax(buf, off, n, m)
        return
    # one loop per activation, so each compiles to a tight (vectorisable) loop
    start, end = off, off + n * m
    if code == RELU:
        relu(buf, start, end)
    elif code == LOGISTIC:
        logistic(buf, start, end)
    elif code == TANH:
        tanh(buf, start, end)
    elif code == SOFTPLUS:
        softplus(buf, start, end)
    elif code == LEAKY_RELU:
        leaky_relu(buf, start, end)
    elif code == EXP:
        exp(buf, start, end)


@jit_inline
def numpys_exp(buf, z):
    """e^z as ``np.exp`` computes it on the buffer's dtype, which scikit-learn's softmax
    and exp call: ``numpy_math`` for float64, the C library's expf for float32."""
    if buf.itemsize == 8:
        return numpy_math.exp(z)
    return math.exp(z)


@jit_inline
def softmax(buf, off, n, m):
    for i in range(n):
        row = off + i * m
        top = buf[row]
        for j in range(1, m):
            if buf[row + j] > top:
                top = buf[row + j]
        for j in range(m):
            buf[row + j] = numpys_exp(buf, buf[row + j] - top)
        total = row_sum(buf, row, m)
        for j in range(m):
            buf[row + j] /= total


@jit_inline
def row_sum(buf, start, n):
    """sum(buf[start:start + n]) as NumPy sums a row (scikit-learn's X.sum(axis=1)): its
    pairwise sum (``sums``); beyond 128 values (a softmax of more classes) one after
    another, where NumPy halves the row (not followed: it needs a stack)."""
    if n > 128:
        total = buf.dtype.type(0)
        for q in range(start, start + n):
            total += buf[q]
        return total
    return block_sum(buf, IN_PLACE, start, n)


# The functions of one activation apply it to buf[start:end] in place (unsigned
# indices: see forward.product_loops).


@jit_inline
def relu(buf, start, end):
    for q in range(uint64(start), uint64(end)):
        if buf[q] < 0:
            buf[q] = 0


@jit_inline
def logistic(buf, start, end):
    # scipy's expit, which scikit-learn calls, to the bit: 1 / (1 + e^-z) in the
    # buffer's dtype (expf for float32). Where e^-z would overflow the dtype, e^z
    # instead: the same to within 1e-38 (float32) or 1e-308, where expit gives 0.
    one = buf.dtype.type(1)
    cap = LOGISTIC_CAP_32 if buf.itemsize == 4 else LOGISTIC_CAP_64
    for q in range(uint64(start), uint64(end)):
        z = buf[q]
        if -z <= cap:
            buf[q] = one / (one + math.exp(-z))
        else:  # and NaN
            buf[q] = math.exp(z)


@jit_inline
def tanh(buf, start, end):
    # np.tanh, which scikit-learn calls: ``numpy_math`` for float64
    for q in range(uint64(start), uint64(end)):
        buf[q] = numpy_math.tanh(buf[q]) if buf.itemsize == 8 else math.tanh(buf[q])


@jit_inline
def softplus(buf, start, end):
    for q in range(uint64(start), uint64(end)):
        z = buf[q]
        buf[q] = max(z, 0) + math.log1p(math.exp(-abs(z)))


@jit_inline
def leaky_relu(buf, start, end):
    for q in range(uint64(start), uint64(end)):
        if buf[q] < 0:
            buf[q] *= LEAKY_SLOPE


@jit_inline
def exp(buf, start, end):
    # Saturate at the dtype's finite range: e^z for z beyond log(max) would be inf
    # and for z below log(tiny) 0, which makes the Poisson loss y log(y / p)
    # infinite; clipping keeps loss and gradient finite
    lo, hi = EXP_BOUNDS_32 if buf.itemsize == 4 else EXP_BOUNDS_64
    for q in range(uint64(start), uint64(end)):
        buf[q] = numpys_exp(buf, min(max(buf[q], lo), hi))


@jit_inline
def backprop_derivative(acts, a_off, deltas, d_off, count, code):
    """deltas[d_off + q] *= f'(in), read from out = acts[a_off + q], q < count."""
    if code == RELU:
        relu_derivative(acts, a_off, deltas, d_off, count)
    elif code == LOGISTIC:
        logistic_derivative(acts, a_off, deltas, d_off, count)
    elif code == TANH:
        tanh_derivative(acts, a_off, deltas, d_off, count)
    elif code == SOFTPLUS:
        softplus_derivative(acts, a_off, deltas, d_off, count)
    elif code == LEAKY_RELU:
        leaky_relu_derivative(acts, a_off, deltas, d_off, count)


# The derivatives of one activation, as backprop_derivative (1 - a in the buffer's
# dtype, as scikit-learn's NumPy code).


@jit_inline
def relu_derivative(acts, a_off, deltas, d_off, count):
    a_off, d_off = uint64(a_off), uint64(d_off)
    for q in range(uint64(count)):
        if acts[a_off + q] <= 0:
            deltas[d_off + q] = 0


@jit_inline
def logistic_derivative(acts, a_off, deltas, d_off, count):
    a_off, d_off, one = uint64(a_off), uint64(d_off), acts.dtype.type(1)
    for q in range(uint64(count)):
        a = acts[a_off + q]
        deltas[d_off + q] *= a
        deltas[d_off + q] *= one - a


@jit_inline
def tanh_derivative(acts, a_off, deltas, d_off, count):
    a_off, d_off, one = uint64(a_off), uint64(d_off), acts.dtype.type(1)
    for q in range(uint64(count)):
        a = acts[a_off + q]
        deltas[d_off + q] *= one - a * a


@jit_inline
def softplus_derivative(acts, a_off, deltas, d_off, count):
    a_off, d_off = uint64(a_off), uint64(d_off)
    for q in range(uint64(count)):
        deltas[d_off + q] *= -math.expm1(-acts[a_off + q])


@jit_inline
def leaky_relu_derivative(acts, a_off, deltas, d_off, count):
    a_off, d_off = uint64(a_off), uint64(d_off)
    for q in range(uint64(count)):
        if acts[a_off + q] <= 0:
            deltas[d_off + q] *= LEAKY_SLOPE


# The kernel of each code, by name, for the generated kernels (identity: none).
FORWARD = {
    RELU: "relu",
    LOGISTIC: "logistic",
    TANH: "tanh",
    SOFTPLUS: "softplus",
    LEAKY_RELU: "leaky_relu",
    EXP: "exp",
    SOFTMAX: "softmax",
}
DERIVATIVE = {
    code: FORWARD[code] + "_derivative" for code in (RELU, LOGISTIC, TANH, SOFTPLUS, LEAKY_RELU)
}
