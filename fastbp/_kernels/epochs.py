"""An epoch of minibatch SGD or Adam in compiled code, over a row order drawn by Python.

The estimators draw each epoch's row order as scikit-learn does (``_shuffle``)
and hand it in as ``rows``: batches of ``work.cap`` consecutive entries. Each
batch's loss and gradient are those of ``passes.loss_gradient`` on the batch; the
optimizer (``step.solver``) updates ``net.params`` in place after every batch.
The kernel returns (the sum over batches of batch loss * batch rows, the Adam
steps taken so far). Whether it trains a network, or a kernel generated for its
architecture (``generated``), is the Python side's choice (``fastbp.network``).
"""

from .backward import l2_term
from .codes import ADAM
from .config import jit, jit_inline, jit_internal
from .layout import B_OFF
from .optimizers import adam_step, sgd_step
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
        # (start < 0: False, typed bool rather than the literal False, so that one
        # compiled batch_loss_grad serves this kernel and passes.loss_gradient)
        total = batch_loss_grad(data, targets, rows, start, n, net, work, loss.code, start < 0)
        t = take_step(params, work.grad, moments, n_coefs, S, loss.alpha, step, t)
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


@jit_internal
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
