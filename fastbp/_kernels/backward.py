"""The backward pass: the seeds' delta recursion and weight gradients.

With delta_L the output delta (from ``losses.loss_and_delta``), for each layer
from the last to the first:

    d_jk    = sum_rows out_j * delta_k         gW = A^T @ D       (weight_grad)
    d_b_k   = sum_rows delta_k                 gb = colsum(D)
    delta_j = (sum_k delta_k w_jk) * f'(in_j)  D' = (D @ W^T) * f' (backprop_messages,
                                                 then backprop_derivative)

The sum over k is seed 001's "sum of the backward messages from every neuron
a node feeds". Gradients are accumulated unnormalised; ``finish_gradient``
divides by S = sum of sample weights and adds the L2 term, as scikit-learn does:
grad_W = (A^T D + alpha W) / S, grad_b = colsum(D) / S. (In training epochs the
optimizer's step computes the same on the way instead: see ``optimizers``.)

Like the forward pass, large products go to BLAS and small ones run as loops
over the flat buffers.
"""

import math

from numba import uint64

from .activations import backprop_derivative
from .blas import matmul
from .config import BLAS_MIN_FLOPS, jit_inline, jit_internal
from .layout import B_OFF, DELTA_OFF, FAN_IN, FAN_OUT, IN_OFF, W_OFF
from .products import fits, small_matmul
from .sums import IN_PLACE, numpy_sum


@jit_inline
def weight_grad(acts, a_off, deltas, d_off, grad, w_off, b_off, n, k, m, tmp, accumulate, own,
                stack):  # fmt: skip
    """gW (+)= A^T @ D and gb (+)= column sums of D; ``tmp`` is scratch for the products,
    ``stack`` for the sums; ``own`` as in ``forward.affine``."""
    if n * k * m >= BLAS_MIN_FLOPS:
        # when accumulating, into tmp first (as many roundings as without: the
        # product, then one addition)
        out, o_off = (tmp, 0) if accumulate else (grad, w_off)
        if own and fits(k, m, n):
            small_matmul(True, False, k, m, n, acts, a_off, deltas, d_off, out, o_off, tmp)
        else:
            weight_grad_blas(acts, a_off, deltas, d_off, out, o_off, n, k, m)
        if accumulate:
            for q in range(uint64(k) * uint64(m)):
                grad[uint64(w_off) + q] += tmp[q]
    else:
        weight_grad_loops(acts, a_off, deltas, d_off, grad, w_off, n, k, m, accumulate)
    m_, b0 = uint64(m), uint64(b_off)
    if not accumulate:
        for j in range(m_):
            grad[b0 + j] = 0
    if m == 1:  # NumPy's mean over D's one column: its pairwise sum (``sums``)
        grad[b0] += numpy_sum(deltas, IN_PLACE, d_off, n, stack)
        return
    for i in range(uint64(n)):  # NumPy's mean over the rows of D: row after row
        d = uint64(d_off) + i * m_
        for j in range(m_):
            grad[b0 + j] += deltas[d + j]


@jit_inline
def weight_grad_blas(acts, a_off, deltas, d_off, out, o_off, n, k, m):
    """gW (k x m) = A^T @ D by BLAS, A = acts[a_off:] (n x k), D = deltas[d_off:] (n x m),
    written to out[o_off:]."""
    matmul(True, False, k, m, n, acts, a_off, deltas, d_off, out, o_off)


@jit_inline
def weight_grad_loops(acts, a_off, deltas, d_off, grad, w_off, n, k, m, accumulate):
    """gW (+)= A^T @ D by loops (the operands as in ``weight_grad_blas``)."""
    # unsigned indices so that the inner loops vectorise (see forward.product_loops)
    n_, k_, m_ = uint64(n), uint64(k), uint64(m)
    w0 = uint64(w_off)
    if not accumulate:
        for q in range(k_ * m_):
            grad[w0 + q] = 0
    for i in range(n_):
        a = uint64(a_off) + i * k_
        d = uint64(d_off) + i * m_
        for p in range(k_):
            x = acts[a + p]
            if x != 0:
                w = w0 + p * m_
                for j in range(m_):
                    grad[w + j] += x * deltas[d + j]


@jit_inline
def backprop_messages(deltas, d_off, params, w_off, dp_off, n, k, m, own, tmp):
    """D_prev = D @ W^T (D = deltas[d_off:] (n, m), D_prev = deltas[dp_off:] (n, k)):
    the summed backward message into each neuron. ``own``, ``tmp``: as in
    ``forward.affine``."""
    if n * k * m >= BLAS_MIN_FLOPS:
        if own and fits(n, k, m):
            small_matmul(False, True, n, k, m, deltas, d_off, params, w_off, deltas, dp_off, tmp)
        else:
            messages_blas(deltas, d_off, params, w_off, dp_off, n, k, m)
    else:
        messages_loops(deltas, d_off, params, w_off, dp_off, n, k, m)


@jit_inline
def messages_blas(deltas, d_off, params, w_off, dp_off, n, k, m):
    """D_prev = D @ W^T by BLAS (the operands as in ``backprop_messages``; W stored k x m)."""
    matmul(False, True, n, k, m, deltas, d_off, params, w_off, deltas, dp_off)


@jit_inline
def messages_loops(deltas, d_off, params, w_off, dp_off, n, k, m):
    """D_prev = D @ W^T by loops (the operands as in ``backprop_messages``)."""
    for i in range(n):
        d = d_off + i * m
        for p in range(k):
            w = w_off + p * m
            s = deltas.dtype.type(0)
            for j in range(m):
                s += deltas[d + j] * params[w + j]
            deltas[dp_off + i * k + p] = s


@jit_internal
def backward_pass(net, work, n, accumulate):
    """From delta_L (already in ``work.deltas``) write every layer's gradient into
    ``work.grad``, or add it there when ``accumulate``."""
    table, acts, deltas, grad = work.table, work.acts, work.deltas, work.grad
    for l in range(table.shape[0] - 1, -1, -1):
        k, m, d_off, a_off, w_off = (
            table[l, FAN_IN],
            table[l, FAN_OUT],
            table[l, DELTA_OFF],
            table[l, IN_OFF],
            table[l, W_OFF],
        )
        b_off, own, tmp = table[l, B_OFF], work.own_products, work.tmp
        weight_grad(acts, a_off, deltas, d_off, grad, w_off, b_off, n, k, m, tmp, accumulate, own,
                    work.stack)  # fmt: skip
        if l > 0:  # (tmp is free again: the weight gradient is in grad)
            dp_off = table[l - 1, DELTA_OFF]
            backprop_messages(deltas, d_off, net.params, w_off, dp_off, n, k, m, own, tmp)
            backprop_derivative(acts, a_off, deltas, dp_off, n * k, net.hidden)


@jit_internal
def finish_gradient(params, grad, n_coefs, alpha, S):
    """Normalise the summed gradient by S, add alpha W / S; return 1/2 alpha |W|^2 / S.
    The division is the optimizers' (``per_batch``), so the same bits as their steps."""
    a = params.dtype.type(alpha)
    s, inv = params.dtype.type(S), params.dtype.type(exact_reciprocal(S))
    for q in range(n_coefs):
        grad[q] = per_batch(grad[q] + a * params[q], s, inv)
    for q in range(n_coefs, params.shape[0]):
        grad[q] = per_batch(grad[q], s, inv)
    return l2_term(params, n_coefs, alpha, S)


@jit_inline
def exact_reciprocal(S):
    """1 / S when x * (1 / S) is x / S for every x, that is when S is a power of two
    (1, or a batch of 2^k unit-weight rows: every batch of the bench cases), within
    2^+-100 so that S and 1 / S are exact in float32 too; else 0."""
    if S == 1:  # a batch of one unit-weight row, without frexp's call
        return 1.0
    mantissa, exponent = math.frexp(S)
    return 1.0 / S if mantissa == 0.5 and -100 < exponent < 100 else 0.0


@jit_inline
def per_batch(g, s, inv):
    """g / s, the same bits faster: g itself when s is 1, g * inv when inv (from
    ``exact_reciprocal``) is 1 / s exactly."""
    if inv == 1:
        return g
    if inv != 0:
        return g * inv
    return g / s


@jit_inline
def l2_term(params, n_coefs, alpha, S):
    """The L2 term of the loss, 1/2 alpha |W|^2 / S (W: the first n_coefs entries)."""
    return 0.0 if alpha == 0 else 0.5 * alpha * squared_norm(params, n_coefs) / S


@jit_inline
def squared_norm(x, n):
    """sum(x[:n] ** 2) in x's dtype (as scikit-learn's np.dot), with eight running sums.

    One running sum would make every addition wait for the one before (without
    fastmath the compiler keeps the order), which on the L2 term of a network of
    tens of thousands of weights took as long as its matrix products.
    """
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = x.dtype.type(0)
    n8 = n - n % 8
    for q in range(0, n8, 8):
        s0 += x[q] * x[q]
        s1 += x[q + 1] * x[q + 1]
        s2 += x[q + 2] * x[q + 2]
        s3 += x[q + 3] * x[q + 3]
        s4 += x[q + 4] * x[q + 4]
        s5 += x[q + 5] * x[q + 5]
        s6 += x[q + 6] * x[q + 6]
        s7 += x[q + 7] * x[q + 7]
    for q in range(n8, n):
        s0 += x[q] * x[q]
    return float(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)))
