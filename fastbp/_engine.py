"""Driver kernels: whole passes over the data, in compiled code.

- ``predict``: forward pass over all rows, chunk by chunk.
- ``loss_gradient``: full-batch loss and gradient (Network.loss_gradient, L-BFGS).
- ``run_epoch``: one epoch of minibatch SGD or Adam over an index permutation
  handed in by Python, so the estimators reproduce scikit-learn's shuffling.

All work buffers are allocated by the caller once per fit and reused; nothing
here allocates per batch. Rows of X are gathered through ``idx`` into layer 0
of the activation buffer, so X may be any subset, in any order, of a dense or CSR matrix.
"""

from ._backward import backward_pass, finish_gradient
from ._config import jit
from ._forward import forward_pass
from ._layout import act_view, delta_view
from ._losses import batch_loss, output_delta
from ._optimizers import adam_step, sgd_step
from ._tables import ADAM


@jit
def load_rows(X, idx, start, out):
    """Copy rows X[idx[start:start + n]] into ``out`` (n, n_features), densely.

    ``X`` is the tuple made by ``_data.kernel_data``: (dense, data, indices,
    indptr), where a CSR matrix has a non-empty ``indptr`` and dense data has an
    empty one. A sparse input is densified one batch at a time only.
    """
    dense, data, indices, indptr = X
    n, d = out.shape
    if indptr.shape[0] == 0:
        for i in range(n):
            r = idx[start + i]
            for j in range(d):
                out[i, j] = dense[r, j]
    else:
        for i in range(n):
            r = idx[start + i]
            for j in range(d):
                out[i, j] = 0
            for q in range(indptr[r], indptr[r + 1]):
                out[i, indices[q]] += data[q]


@jit
def predict(X, idx, params, sizes, hidden, out_code, acts, P):
    """Write the network's outputs for rows X[idx] into P (len(idx), sizes[-1])."""
    cap = acts.shape[0] // sizes.sum()
    n_total = idx.shape[0]
    n_layers = len(sizes) - 1
    for start in range(0, n_total, cap):
        n = min(cap, n_total - start)
        load_rows(X, idx, start, act_view(acts, sizes, 0, n))
        forward_pass(params, sizes, hidden, out_code, acts, n)
        out = act_view(acts, sizes, n_layers, n)
        P[start : start + n, :] = out


@jit
def batch_loss_grad(
    X,
    Y,
    sw,
    idx,
    start,
    n,
    params,
    sizes,
    hidden,
    out_code,
    loss,
    acts,
    deltas,
    grad,
    tmp,
    accumulate,
):
    """Forward and backward over rows idx[start:start + n]; return sum_i s_i l_i.

    The (unnormalised) gradient is written to ``grad``, or added to it when
    ``accumulate``.
    """
    n_layers = len(sizes) - 1
    load_rows(X, idx, start, act_view(acts, sizes, 0, n))
    forward_pass(params, sizes, hidden, out_code, acts, n)
    P = act_view(acts, sizes, n_layers, n)
    total = batch_loss(P, Y, sw, idx, start, loss, out_code)
    output_delta(P, Y, sw, idx, start, loss, out_code, delta_view(deltas, sizes, n_layers, n))
    backward_pass(params, sizes, hidden, acts, deltas, n, grad, tmp, accumulate)
    return total


@jit
def loss_gradient(
    X,
    Y,
    sw,
    idx,
    params,
    sizes,
    hidden,
    out_code,
    loss,
    alpha,
    loss_scale,
    acts,
    deltas,
    grad,
    tmp,
):
    """Full-batch loss and gradient over rows X[idx], chunk by chunk.

    Returns loss_scale * sum_i s_i l_i / S + 1/2 alpha |W|^2 / S and leaves
    the gradient of  sum_i s_i l_i / S + 1/2 alpha |W|^2 / S  in ``grad``.
    """
    cap = acts.shape[0] // sizes.sum()
    n_total = idx.shape[0]
    S = 0.0
    for i in range(n_total):
        S += sw[idx[i]]
    data = 0.0
    for start in range(0, n_total, cap):
        n = min(cap, n_total - start)
        data += batch_loss_grad(
            X,
            Y,
            sw,
            idx,
            start,
            n,
            params,
            sizes,
            hidden,
            out_code,
            loss,
            acts,
            deltas,
            grad,
            tmp,
            start > 0,
        )
    reg = finish_gradient(params, grad, sizes, alpha, S)
    return loss_scale * data / S + reg


@jit
def run_epoch(
    X,
    Y,
    sw,
    idx,
    batch_size,
    params,
    sizes,
    hidden,
    out_code,
    loss,
    alpha,
    loss_scale,
    solver,
    lr,
    momentum,
    nesterov,
    beta_1,
    beta_2,
    epsilon,
    t,
    state,
    acts,
    deltas,
    grad,
    tmp,
):
    """One epoch of minibatch training over rows X[idx], in that order.

    Each batch's loss and gradient are those of ``loss_gradient`` on the batch;
    the optimizer (``solver``: SGD or ADAM code) updates ``params`` in place
    after every batch. ``state`` holds the optimizer's buffers (velocity; or
    Adam's m and v), ``t`` the number of Adam steps taken before this epoch.

    Returns (sum over batches of batch loss * batch rows, Adam steps taken).
    """
    n_total = idx.shape[0]
    accumulated = 0.0
    for start in range(0, n_total, batch_size):
        n = min(batch_size, n_total - start)
        S = 0.0
        for i in range(start, start + n):
            S += sw[idx[i]]
        data = batch_loss_grad(
            X,
            Y,
            sw,
            idx,
            start,
            n,
            params,
            sizes,
            hidden,
            out_code,
            loss,
            acts,
            deltas,
            grad,
            tmp,
            False,
        )
        reg = finish_gradient(params, grad, sizes, alpha, S)
        accumulated += (loss_scale * data / S + reg) * n
        if solver == ADAM:
            t += 1
            adam_step(params, grad, state[0], state[1], t, lr, beta_1, beta_2, epsilon)
        else:
            sgd_step(params, grad, state[0], lr, momentum, nesterov)
    return accumulated, t
