"""Epochs of minibatch SGD or Adam in compiled code, over a row order drawn by Python.

The estimators draw each epoch's row order as scikit-learn does (``_shuffle``)
and hand it in as ``rows``: batches of ``work.cap`` consecutive entries. Each
batch's loss and gradient are those of ``passes.loss_gradient`` on the batch; the
optimizer (``step.solver``) updates ``net.params`` in place after every batch.
Both kernels return (the sum over batches of batch loss * batch rows, the Adam
steps taken so far). Which one trains a network, or a kernel generated for its
architecture (``generated``), is the Python side's choice (``fastbp.network``).
"""

from .activations import activate, backprop_derivative
from .backward import exact_reciprocal, l2_term
from .codes import ADAM
from .config import jit, jit_inline
from .forward import gather_rows
from .layout import B_OFF, DELTA_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, W_OFF
from .losses import loss_and_delta
from .optimizers import adam_step, sgd_step, stepped, swept
from .passes import batch_loss_grad


@jit
def run_epoch(data, targets, rows, net, work, loss, moments, step):
    """One epoch over X's rows ``rows``, in that order, in batches of ``work.cap`` rows."""
    params, weights = net.params, targets.weights
    n_coefs = work.table[0, B_OFF]
    t = step.t
    accumulated = 0.0
    for start in range(0, rows.shape[0], work.cap):
        n = min(work.cap, rows.shape[0] - start)
        S, reg = batch_weight_and_l2(params, n_coefs, weights, rows, start, n, loss.alpha)
        total = batch_loss_grad(data, targets, rows, start, n, net, work, loss.code, False)
        t = take_step(params, work.grad, moments, n_coefs, S, loss.alpha, step, t)
        accumulated += batch_value(total, S, reg, n, loss.scale)
    return accumulated, t


@jit
def run_epoch_row_by_row(data, targets, rows, net, work, loss, moments, step):
    """``run_epoch`` for networks whose every layer is small: each batch's loss and
    gradient are computed one row at a time (``work.tmp`` is not used).

    For each row, the forward pass computes in_k = sum_j w_jk out_j + b_k neuron
    by neuron, and the backward pass adds out_j * delta_k to each weight's
    gradient while it sums the message delta_j = sum_k delta_k w_jk, in the same
    sweep over W: half the loops of the batched path, which matters when the
    loops are a few iterations long. Rows use the first row of each work block.

    Plain SGD (no momentum) on a batch of one row (batch size 1, or a last batch
    of one) skips the gradient buffer: the sweep steps each weight as soon as it
    has read it for the message and has its gradient, the step ``take_step`` would
    take after the sweep, with the same rounding. Momentum and Adam keep the
    buffer: their steps written into the sweep too would cost more compilation for
    every fit, for a rarely used combination (DESIGN.md).

    The row loop is written out here rather than called: with one row per batch a
    call per batch is a large share of an epoch, and Numba's inlining of a
    function this size costs seconds of compilation.
    """
    params, grad, deltas, acts, table = net.params, work.grad, work.deltas, work.acts, work.table
    last = table.shape[0] - 1
    m_out, p_off = table[last, FAN_OUT], table[last, OUT_OFF]
    n_coefs = table[0, B_OFF]
    dt = params.dtype.type
    zero = dt(0)
    lr_, a_ = dt(step.lr), dt(loss.alpha)  # cast as sgd_step casts them
    t = step.t
    accumulated = 0.0
    for start in range(0, rows.shape[0], work.cap):
        n = min(work.cap, rows.shape[0] - start)
        in_sweep = n == 1 and step.solver != ADAM and step.momentum == 0  # step in the sweep
        S, reg = batch_weight_and_l2(params, n_coefs, targets.weights, rows, start, n, loss.alpha)
        s, inv = dt(S), dt(exact_reciprocal(S))
        if not in_sweep:
            for q in range(params.shape[0]):
                grad[q] = 0
        total = 0.0
        for i in range(start, start + n):
            gather_rows(data, rows, i, 1, table[0, FAN_IN], acts)
            for l in range(last + 1):
                k, m = table[l, FAN_IN], table[l, FAN_OUT]
                a_off, z_off = table[l, IN_OFF], table[l, OUT_OFF]
                w_off, b_off = table[l, W_OFF], table[l, B_OFF]
                for j in range(m):
                    z = zero
                    for p in range(k):
                        z += acts[a_off + p] * params[w_off + p * m + j]
                    acts[z_off + j] = z + params[b_off + j]
                activate(acts, z_off, 1, m, net.hidden if l < last else net.output)
            d_last = table[last, DELTA_OFF]
            total += loss_and_delta(
                acts, p_off, 1, m_out, targets, rows, i, loss.code, net.output, deltas, d_last
            )
            for l in range(last, -1, -1):
                k, m = table[l, FAN_IN], table[l, FAN_OUT]
                a_off, w_off = table[l, IN_OFF], table[l, W_OFF]
                b_off, d_off = table[l, B_OFF], table[l, DELTA_OFF]
                dp_off = table[l - 1, DELTA_OFF] if l > 0 else 0
                for p in range(k):
                    a = acts[a_off + p]
                    message = zero
                    for j in range(m):
                        d = deltas[d_off + j]
                        q = w_off + p * m + j
                        w = params[q]
                        message += d * w
                        if in_sweep:
                            params[q] = swept(w, a, d, loss.alpha, a_, s, inv, lr_)
                        else:
                            grad[q] += a * d
                    if l > 0:
                        deltas[dp_off + p] = message
                for j in range(m):
                    if in_sweep:
                        params[b_off + j] = stepped(
                            params[b_off + j], deltas[d_off + j], s, inv, lr_
                        )
                    else:
                        grad[b_off + j] += deltas[d_off + j]
                if l > 0:
                    backprop_derivative(acts, a_off, deltas, dp_off, k, net.hidden)
        if not in_sweep:
            t = take_step(params, grad, moments, n_coefs, S, loss.alpha, step, t)
        accumulated += batch_value(total, S, reg, n, loss.scale)
    return accumulated, t


@jit_inline
def batch_weight_and_l2(params, n_coefs, weights, rows, start, n, alpha):
    """The batch's summed sample weight S and the L2 term of its loss, 1/2 alpha |W|^2 / S,
    from the weights before the batch's step."""
    S = 0.0
    for i in range(start, start + n):
        S += weights[rows[i]]
    return S, l2_term(params, n_coefs, alpha, S)


@jit_inline
def batch_value(total, S, reg, n, scale):
    """The batch's loss times its rows, (scale * total / S + reg) * n, without the exact
    x / 1 and x * 1 of a batch of one unit-weight row (a division and a conversion
    per row, a visible share of a small network's epoch)."""
    value = scale * total
    if S != 1:
        value /= S
    value += reg
    if n != 1:
        value *= n
    return value


@jit
def take_step(params, grad, moments, n_coefs, S, alpha, step, t):
    """The optimizer's step after a batch of summed sample weight ``S`` whose unnormalised
    gradient is in ``grad``; ``t`` Adam steps taken before it. Returns the Adam steps
    taken after it.

    A call, not inlined: compiled once and cached on its own, its SGD and Adam steps
    are not copied into each epoch kernel's Numba IR (less compilation per fit); one
    call per batch cost nothing measurable (DESIGN.md).
    """
    # The step finishes the gradient (divides by S, adds alpha W / S) as it goes.
    if step.solver == ADAM:
        t += 1
        adam_step(
            params,
            grad,
            moments.first,
            moments.second,
            t,
            step.lr,
            step.beta_1,
            step.beta_2,
            step.epsilon,
            n_coefs,
            alpha,
            S,
        )
    else:
        sgd_step(
            params, grad, moments.first, step.lr, step.momentum, step.nesterov, n_coefs, alpha, S
        )
    return t
