"""The backward pass: the seeds' delta recursion and weight gradients.

With delta_L the output delta (from ``_losses.output_delta``), for each layer
from the last to the first:

    d_jk   = sum_rows out_j * delta_k        gW = A^T @ D      (weight_grad)
    d_b_k  = sum_rows delta_k                gb = colsum(D)
    delta_j = (sum_k delta_k w_jk) * f'(in_j)  D' = (D @ W^T) * f'  (backprop_messages,
                                                      then backprop_derivative)

The sum over k is seed 001's "sum of the backward messages from every neuron
a node feeds". Gradients are accumulated unnormalised; ``finish_gradient``
divides by S = sum of sample weights and adds the L2 term, as scikit-learn does:
grad_W = (A^T D + alpha W) / S, grad_b = colsum(D) / S.
"""

import numpy as np

from ._activations import backprop_derivative
from ._config import BLAS_MIN_FLOPS, jit
from ._layout import act_view, coef_view, delta_view, intercept_view, n_coefs


@jit
def weight_grad(A, D, gW, gb, tmp, accumulate):
    """gW (+)= A^T @ D and gb (+)= column sums of D; ``tmp`` is scratch for BLAS."""
    n, k = A.shape
    m = D.shape[1]
    if n * k * m >= BLAS_MIN_FLOPS:
        if accumulate:
            scratch = tmp[: k * m].reshape((k, m))
            np.dot(A.T, D, scratch)
            for p in range(k):
                for j in range(m):
                    gW[p, j] += scratch[p, j]
        else:
            np.dot(A.T, D, gW)
    else:
        if not accumulate:
            gW[:, :] = 0
        for i in range(n):
            for p in range(k):
                a = A[i, p]
                if a != 0:
                    for j in range(m):
                        gW[p, j] += a * D[i, j]
    if not accumulate:
        gb[:] = 0
    for i in range(n):
        for j in range(m):
            gb[j] += D[i, j]


@jit
def backprop_messages(D, W, D_prev):
    """D_prev = D @ W^T: the summed backward message into each neuron."""
    n, m = D.shape
    k = W.shape[0]
    if n * k * m >= BLAS_MIN_FLOPS:
        np.dot(D, W.T, D_prev)
    else:
        for i in range(n):
            for p in range(k):
                s = D.dtype.type(0)
                for j in range(m):
                    s += D[i, j] * W[p, j]
                D_prev[i, p] = s


@jit
def backward_pass(params, sizes, hidden, acts, deltas, n, grad, tmp, accumulate):
    """From delta_L (already in ``deltas``) accumulate every layer's gradient."""
    n_layers = len(sizes) - 1
    for l in range(n_layers, 0, -1):
        D = delta_view(deltas, sizes, l, n)
        weight_grad(
            act_view(acts, sizes, l - 1, n),
            D,
            coef_view(grad, sizes, l - 1),
            intercept_view(grad, sizes, l - 1),
            tmp,
            accumulate,
        )
        if l > 1:
            D_prev = delta_view(deltas, sizes, l - 1, n)
            backprop_messages(D, coef_view(params, sizes, l - 1), D_prev)
            backprop_derivative(act_view(acts, sizes, l - 1, n), D_prev, hidden)


@jit
def finish_gradient(params, grad, sizes, alpha, S):
    """Normalise the summed gradient by S, add alpha W / S; return 1/2 alpha |W|^2 / S."""
    nc = n_coefs(sizes)
    a = params.dtype.type(alpha)
    s = params.dtype.type(S)
    sq = 0.0
    for q in range(nc):
        w = params[q]
        sq += w * w
        grad[q] = (grad[q] + a * w) / s
    for q in range(nc, params.shape[0]):
        grad[q] /= s
    return 0.5 * alpha * sq / S
