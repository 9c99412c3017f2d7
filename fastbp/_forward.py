"""The forward pass: in_k = sum_j w_jk out_j + b_k, out_k = f(in_k), layer by layer.

For a batch of rows this is Z = A @ W + b per layer. Large products go to
BLAS (``np.dot`` into the layer's block of the activation buffer); small ones
run as plain loops over the flat buffers, ordered so that the innermost loop
walks a contiguous row of W, which Numba vectorises.
"""

import numpy as np

from ._activations import activate
from ._config import BLAS_MIN_FLOPS, jit
from ._layout import B_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, W_OFF


@jit
def affine(acts, a_off, z_off, params, w_off, b_off, n, k, m):
    """Z = A @ W + b: A = acts[a_off:] (n, k), W = params[w_off:] (k, m), b = params[b_off:],
    Z = acts[z_off:] (n, m)."""
    if n * k * m >= BLAS_MIN_FLOPS:
        A = acts[a_off : a_off + n * k].reshape((n, k))
        W = params[w_off : w_off + k * m].reshape((k, m))
        np.dot(A, W, acts[z_off : z_off + n * m].reshape((n, m)))
    else:
        for i in range(n):
            z = z_off + i * m
            a = a_off + i * k
            for j in range(m):
                acts[z + j] = 0
            for p in range(k):
                x = acts[a + p]
                if x != 0:  # relu layers and sparse inputs hold many zeros
                    w = w_off + p * m
                    for j in range(m):
                        acts[z + j] += x * params[w + j]
    for i in range(n):
        z = z_off + i * m
        for j in range(m):
            acts[z + j] += params[b_off + j]


@jit
def forward_pass(params, table, hidden, out_code, acts, n):
    """Propagate the ``n`` input rows already in layer 0 of ``acts`` to the output."""
    n_layers = table.shape[0]
    for l in range(n_layers):
        k, m = table[l, FAN_IN], table[l, FAN_OUT]
        affine(acts, table[l, IN_OFF], table[l, OUT_OFF], params, table[l, W_OFF],
               table[l, B_OFF], n, k, m)  # fmt: skip
        activate(acts, table[l, OUT_OFF], n, m, hidden if l < n_layers - 1 else out_code)
