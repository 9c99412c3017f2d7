"""The forward pass: in_k = sum_j w_jk out_j + b_k, out_k = f(in_k), layer by layer.

For a batch of rows this is Z = A @ W + b per layer. Large products go to
BLAS (``np.dot`` into the preallocated layer block); small ones run as plain
loops ordered so that the innermost loop walks a contiguous row of W, which
Numba vectorises.
"""

import numpy as np

from ._activations import activate
from ._config import BLAS_MIN_FLOPS, jit
from ._layout import act_view, coef_view, intercept_view


@jit
def affine(A, W, b, Z):
    """Z = A @ W + b for one layer (A: (n, k), W: (k, m), b: (m,), Z: (n, m))."""
    n, k = A.shape
    m = W.shape[1]
    if n * k * m >= BLAS_MIN_FLOPS:
        np.dot(A, W, Z)
    else:
        for i in range(n):
            for j in range(m):
                Z[i, j] = 0
            for p in range(k):
                a = A[i, p]
                if a != 0:  # relu layers and sparse inputs hold many zeros
                    for j in range(m):
                        Z[i, j] += a * W[p, j]
    for i in range(n):
        for j in range(m):
            Z[i, j] += b[j]


@jit
def forward_pass(params, sizes, hidden, out_code, acts, n):
    """Propagate the ``n`` input rows already in layer 0 of ``acts`` to the output."""
    n_layers = len(sizes) - 1
    for l in range(n_layers):
        Z = act_view(acts, sizes, l + 1, n)
        W = coef_view(params, sizes, l)
        b = intercept_view(params, sizes, l)
        affine(act_view(acts, sizes, l, n), W, b, Z)
        activate(Z, hidden if l < n_layers - 1 else out_code)
