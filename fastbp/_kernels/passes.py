"""Whole passes over rows of X, in compiled code: predictions, and the full-batch
loss and gradient (``Network.loss_gradient``, L-BFGS).

Rows are gathered through a row index into layer 0 of the activation buffer, so
X may be any subset, in any order, of a dense or CSR matrix; ``work.cap`` rows at
a time, so that the buffers stay small whatever the number of rows. Nothing
here allocates: the caller hands every buffer (``protocol``).
"""

from .backward import backward_pass, finish_gradient
from .config import jit, jit_internal_inline
from .forward import forward_rows
from .layout import B_OFF, DELTA_OFF, FAN_OUT, OUT_OFF
from .losses import loss_and_delta


@jit
def predict(data, rows, net, work, out):
    """Write the network's outputs for X's rows ``rows`` into out (len(rows), n_outputs)."""
    table, acts = work.table, work.acts
    last = table.shape[0] - 1
    m, p_off = table[last, FAN_OUT], table[last, OUT_OFF]
    for start in range(0, rows.shape[0], work.cap):
        n = min(work.cap, rows.shape[0] - start)
        forward_rows(data, rows, start, n, net, work)
        for i in range(n):
            for k in range(m):
                out[start + i, k] = acts[p_off + i * m + k]


@jit_internal_inline
def batch_loss_grad(data, targets, rows, start, n, net, work, loss, accumulate):
    """Forward and backward over rows[start:start + n]; return sum_i s_i l_i.

    The (unnormalised) gradient is written to ``work.grad``, or added to it when
    ``accumulate``. A call, compiled once for ``loss_gradient`` and the epoch kernels
    rather than into each (less to compile: DESIGN.md).
    """
    forward_rows(data, rows, start, n, net, work)
    table = work.table
    last = table.shape[0] - 1
    total = loss_and_delta(
        work.acts,
        table[last, OUT_OFF],
        n,
        table[last, FAN_OUT],
        targets,
        rows,
        start,
        loss,
        net.output,
        work.deltas,
        table[last, DELTA_OFF],
    )
    backward_pass(net, work, n, accumulate)
    return total


@jit
def loss_gradient(data, targets, rows, net, work, loss):
    """Full-batch loss and gradient over X's rows ``rows``, ``work.cap`` rows at a time.

    Returns loss.scale * sum_i s_i l_i / S + 1/2 alpha |W|^2 / S and leaves the
    gradient of  sum_i s_i l_i / S + 1/2 alpha |W|^2 / S  in ``work.grad``.
    """
    n_total = rows.shape[0]
    S = 0.0
    for i in range(n_total):
        S += targets.weights[rows[i]]
    total = 0.0
    for start in range(0, n_total, work.cap):
        n = min(work.cap, n_total - start)
        total += batch_loss_grad(data, targets, rows, start, n, net, work, loss.code, start > 0)
    reg = finish_gradient(net.params, work.grad, work.table[0, B_OFF], loss.alpha, S)
    return loss.scale * total / S + reg
