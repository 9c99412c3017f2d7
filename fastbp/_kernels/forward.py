"""The forward pass: in_k = sum_j w_jk out_j + b_k, out_k = f(in_k), layer by layer.

For a batch of rows (gathered from X into layer 0 by ``gather_rows``) this is
Z = A @ W + b per layer. Large products go to BLAS (``blas.matmul`` into the
layer's block of the activation buffer); small ones
run as plain loops over the flat buffers, ordered so that the innermost loop
walks a contiguous row of W, which Numba vectorises.
"""

from numba import uint64

from .activations import activate
from .blas import matmul
from .config import BLAS_MIN_FLOPS, jit_inline, jit_internal
from .layout import B_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, W_OFF
from .products import fits, small_matmul


@jit_inline
def affine(acts, a_off, z_off, params, w_off, b_off, n, k, m, own, tmp):
    """Z = A @ W + b: A = acts[a_off:] (n, k), W = params[w_off:] (k, m), b = params[b_off:],
    Z = acts[z_off:] (n, m). ``own``: small products in BLAS's order without BLAS
    (``products``); ``tmp``: scratch for them."""
    if n * k * m >= BLAS_MIN_FLOPS:
        if own and fits(n, m, k):
            small_matmul(False, False, n, m, k, acts, a_off, params, w_off, acts, z_off, tmp)
        else:
            product_blas(acts, a_off, z_off, params, w_off, n, k, m)
    else:
        product_loops(acts, a_off, z_off, params, w_off, n, k, m)
    add_bias(acts, z_off, params, b_off, n, m)


@jit_inline
def product_blas(acts, a_off, z_off, params, w_off, n, k, m):
    """Z = A @ W by BLAS (the operands as in ``affine``)."""
    matmul(False, False, n, m, k, acts, a_off, params, w_off, acts, z_off)


@jit_inline
def product_loops(acts, a_off, z_off, params, w_off, n, k, m):
    """Z = A @ W by loops (the operands as in ``affine``)."""
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


@jit_inline
def add_bias(acts, z_off, params, b_off, n, m):
    m_, b = uint64(m), uint64(b_off)
    for i in range(uint64(n)):
        z = uint64(z_off) + i * m_
        for j in range(m_):
            acts[z + j] += params[b + j]


@jit_internal
def forward_pass(net, work, n):
    """Propagate the ``n`` input rows already in layer 0 of ``work.acts`` to the output."""
    table, acts, params, own = work.table, work.acts, net.params, work.own_products
    last = table.shape[0] - 1
    for l in range(last + 1):
        k, m, z_off = table[l, FAN_IN], table[l, FAN_OUT], table[l, OUT_OFF]
        w_off, b_off = table[l, W_OFF], table[l, B_OFF]
        affine(acts, table[l, IN_OFF], z_off, params, w_off, b_off, n, k, m, own, work.tmp)
        activate(acts, z_off, n, m, net.hidden if l < last else net.output)


@jit_inline
def gather_rows(data, rows, start, n, n_features, acts):
    """Copy X's rows rows[start:start + n] into layer 0 of ``acts``: X is ``data``
    (protocol.Data), dense or CSR, so any subset of its rows in any order."""
    if data.indptr.shape[0] == 0:
        dense = data.dense
        for i in range(n):
            r = rows[start + i]
            for j in range(n_features):
                acts[i * n_features + j] = dense[r, j]
    else:
        values, indices, indptr = data.values, data.indices, data.indptr
        for i in range(n):
            r = rows[start + i]
            base = i * n_features
            for j in range(n_features):
                acts[base + j] = 0
            for q in range(indptr[r], indptr[r + 1]):
                acts[base + indices[q]] += values[q]


@jit_inline
def forward_rows(data, rows, start, n, net, work):
    """Gather rows[start:start + n] into layer 0 and run the forward pass."""
    gather_rows(data, rows, start, n, work.table[0, FAN_IN], work.acts)
    forward_pass(net, work, n)
