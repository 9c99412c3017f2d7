"""The forward pass: in_k = sum_j w_jk out_j + b_k, out_k = f(in_k), layer by layer.

For a batch of rows this is Z = A @ W + b per layer. Large products go to
BLAS (``_blas.matmul`` into the layer's block of the activation buffer); small ones
run as plain loops over the flat buffers, ordered so that the innermost loop
walks a contiguous row of W, which Numba vectorises.
"""

from numba import uint64

from ._activations import activate
from ._blas import matmul
from ._config import BLAS_MIN_FLOPS, jit, jit_inline
from ._layout import B_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, W_OFF


@jit_inline
def affine(acts, a_off, z_off, params, w_off, b_off, n, k, m):
    """Z = A @ W + b: A = acts[a_off:] (n, k), W = params[w_off:] (k, m), b = params[b_off:],
    Z = acts[z_off:] (n, m)."""
    if n * k * m >= BLAS_MIN_FLOPS:
        matmul(False, False, n, m, k, acts, a_off, params, w_off, acts, z_off)
        add_bias(acts, z_off, params, b_off, n, m)
        return
    # Unsigned index arithmetic: the compiler then knows no index is negative
    # (no wrap-around branch), and vectorises the inner loops.
    n_, k_, m_ = uint64(n), uint64(k), uint64(m)
    for i in range(n_):
        z = uint64(z_off) + i * m_
        a = uint64(a_off) + i * k_
        for j in range(m_):
            acts[z + j] = 0
        for p in range(k_):
            x = acts[a + p]
            if x != 0:  # relu layers and sparse inputs hold many zeros
                w = uint64(w_off) + p * m_
                for j in range(m_):
                    acts[z + j] += x * params[w + j]
    add_bias(acts, z_off, params, b_off, n, m)


@jit_inline
def add_bias(acts, z_off, params, b_off, n, m):
    m_, b = uint64(m), uint64(b_off)
    for i in range(uint64(n)):
        z = uint64(z_off) + i * m_
        for j in range(m_):
            acts[z + j] += params[b + j]


@jit
def forward_pass(params, table, hidden, out_code, acts, n):
    """Propagate the ``n`` input rows already in layer 0 of ``acts`` to the output."""
    n_layers = table.shape[0]
    for l in range(n_layers):
        k, m = table[l, FAN_IN], table[l, FAN_OUT]
        affine(acts, table[l, IN_OFF], table[l, OUT_OFF], params, table[l, W_OFF],
               table[l, B_OFF], n, k, m)  # fmt: skip
        activate(acts, table[l, OUT_OFF], n, m, hidden if l < n_layers - 1 else out_code)
