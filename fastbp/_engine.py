"""Driver kernels: whole passes over the data, in compiled code.

- ``predict``: forward pass over given rows, chunk by chunk.
- ``loss_gradient``: full-batch loss and gradient (Network.loss_gradient, L-BFGS).
- ``run_epoch``: one epoch of minibatch SGD or Adam over a row order drawn by
  Python, so the estimators reproduce scikit-learn's shuffling exactly;
  ``run_epoch_row_by_row`` the same for networks whose every layer is small
  (``epoch_kernel`` picks one, or a kernel generated for the architecture of a
  tiny network trained by plain SGD one row at a time: ``_unrolled``).

All work buffers are allocated by the caller (once per fit, or kept by a
Network) and reused; nothing here allocates. Rows of X are gathered through a
row index into layer 0 of the activation buffer, so X may be any subset, in any
order, of a dense or CSR matrix. X travels as four arrays (dense, data,
indices, indptr): a CSR matrix has a non-empty ``indptr``, dense data an empty
one (see ``_data.kernel_data``).
"""

import warnings

from . import _unrolled
from ._activations import activate, backprop_derivative
from ._backward import backward_pass, finish_gradient, l2_term
from ._config import ROW_BY_ROW_MAX_FLOPS, jit, jit_inline
from ._forward import forward_pass
from ._layout import B_OFF, DELTA_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, W_OFF
from ._losses import loss_and_delta
from ._optimizers import adam_step, exact_reciprocal, sgd_step, stepped, swept
from ._tables import ADAM


@jit_inline
def _gather_rows(X, X_data, X_indices, X_indptr, rows, start, n, n_features, acts):
    """Copy rows X[rows[start:start + n]] into layer 0 of ``acts``."""
    if X_indptr.shape[0] == 0:
        for i in range(n):
            r = rows[start + i]
            for j in range(n_features):
                acts[i * n_features + j] = X[r, j]
    else:
        for i in range(n):
            r = rows[start + i]
            base = i * n_features
            for j in range(n_features):
                acts[base + j] = 0
            for q in range(X_indptr[r], X_indptr[r + 1]):
                acts[base + X_indices[q]] += X_data[q]


@jit_inline
def _forward_rows(X, X_data, X_indices, X_indptr, rows, start, n, n_features, params, table,
                  hidden, out_code, acts):  # fmt: skip
    """Gather rows[start:start + n] into layer 0 and run the forward pass."""
    _gather_rows(X, X_data, X_indices, X_indptr, rows, start, n, n_features, acts)
    forward_pass(params, table, hidden, out_code, acts, n)


@jit
def predict(X, rows, params, table, cap, hidden, out_code, acts, P):
    """Write the network's outputs for rows X[rows] into P (len(rows), n_outputs)."""
    dense, data, indices, indptr = X
    last = table.shape[0] - 1
    m = table[last, FAN_OUT]
    p_off = table[last, OUT_OFF]
    for start in range(0, rows.shape[0], cap):
        n = min(cap, rows.shape[0] - start)
        _forward_rows(dense, data, indices, indptr, rows, start, n, table[0, FAN_IN], params,
                      table, hidden, out_code, acts)  # fmt: skip
        for i in range(n):
            for k in range(m):
                P[start + i, k] = acts[p_off + i * m + k]


@jit_inline
def _batch_loss_grad(X, X_data, X_indices, X_indptr, Y, sw, rows, start, n, params, table,
                     hidden, out_code, loss, acts, deltas, grad, tmp, accumulate):  # fmt: skip
    """Forward and backward over rows[start:start + n]; return sum_i s_i l_i.

    The (unnormalised) gradient is written to ``grad``, or added to it when
    ``accumulate``.
    """
    _forward_rows(X, X_data, X_indices, X_indptr, rows, start, n, table[0, FAN_IN], params,
                  table, hidden, out_code, acts)  # fmt: skip
    last = table.shape[0] - 1
    m = table[last, FAN_OUT]
    p_off = table[last, OUT_OFF]
    total = loss_and_delta(acts, p_off, n, m, Y, sw, rows, start, loss, out_code, deltas,
                           table[last, DELTA_OFF])  # fmt: skip
    backward_pass(params, table, hidden, acts, deltas, n, grad, tmp, accumulate)
    return total


@jit
def loss_gradient(X, Y, sw, rows, params, table, cap, hidden, out_code, loss, alpha, loss_scale,
                  acts, deltas, grad, tmp):  # fmt: skip
    """Full-batch loss and gradient over rows X[rows], ``cap`` rows at a time.

    Returns loss_scale * sum_i s_i l_i / S + 1/2 alpha |W|^2 / S and leaves
    the gradient of  sum_i s_i l_i / S + 1/2 alpha |W|^2 / S  in ``grad``.
    """
    dense, data, indices, indptr = X
    n_total = rows.shape[0]
    S = 0.0
    for i in range(n_total):
        S += sw[rows[i]]
    total = 0.0
    for start in range(0, n_total, cap):
        n = min(cap, n_total - start)
        total += _batch_loss_grad(dense, data, indices, indptr, Y, sw, rows, start, n, params,
                                  table, hidden, out_code, loss, acts, deltas, grad, tmp,
                                  start > 0)  # fmt: skip
    reg = finish_gradient(params, grad, table[0, B_OFF], alpha, S)
    return loss_scale * total / S + reg


def epoch_kernel(sizes, batch_size, hidden, out_code, loss, plain_sgd):
    """The epoch kernel for a network of layer ``sizes`` trained in batches of
    ``batch_size``, with these activation and loss codes; ``plain_sgd``: by SGD
    without momentum.

    ``run_epoch_row_by_row`` when every layer's product for a batch is below
    ROW_BY_ROW_MAX_FLOPS (``_config``), else ``run_epoch``. Two entry points rather
    than a branch in one, so that a fit compiles only the path it runs (a cold cache
    costs seconds per path). Plain SGD on batches of one row over a network that
    small and of few parameters (``_unrolled.eligible``) gets a kernel generated for
    its architecture instead (``_unrolled``): the same steps in 0.33-0.6x the time.
    """
    pairs = zip(sizes[:-1], sizes[1:])
    small = all(batch_size * int(a) * int(b) < ROW_BY_ROW_MAX_FLOPS for a, b in pairs)
    if small and plain_sgd and batch_size == 1 and _unrolled.eligible(sizes):
        sizes = tuple(int(s) for s in sizes)
        try:
            return _unrolled.kernel(sizes, int(hidden), int(out_code), int(loss))
        except OSError as exc:  # nowhere to write it: the kernel it stands in for
            warnings.warn(f"fastbp: no generated kernel ({exc}); training row by row.",
                          RuntimeWarning, stacklevel=2)  # fmt: skip
    return run_epoch_row_by_row if small else run_epoch


@jit
def run_epoch(X, Y, sw, rows, params, table, acts, deltas, grad, tmp, first, second, n_rows,
              batch_size, hidden, out_code, loss, alpha, loss_scale, solver, lr, momentum,
              nesterov, beta_1, beta_2, epsilon, t):  # fmt: skip
    """One epoch of minibatch training over rows rows[:n_rows], in that order.

    Each batch's loss and gradient are those of ``loss_gradient`` on the batch;
    the optimizer (``solver``: SGD or ADAM code) updates ``params`` in place
    after every batch. ``first`` and ``second`` are the optimizer's buffers
    (the velocity, twice; or Adam's m and v), ``t`` the number of Adam steps
    taken before this epoch.

    Returns (sum over batches of batch loss * batch rows, Adam steps taken).

    Called from Python with its arrays each epoch: with Numba's reference counting
    off (``_config``), passing arrays to a compiled call allocates nothing, and
    costs ~1 us for all of them.
    """
    dense, data, indices, indptr = X
    n_coefs = table[0, B_OFF]
    accumulated = 0.0
    for start in range(0, n_rows, batch_size):
        n = min(batch_size, n_rows - start)
        S, reg = _batch_weight_and_l2(params, n_coefs, sw, rows, start, n, alpha)
        total = _batch_loss_grad(dense, data, indices, indptr, Y, sw, rows, start, n, params,
                                 table, hidden, out_code, loss, acts, deltas, grad, tmp,
                                 False)  # fmt: skip
        t = _step(params, grad, first, second, n_coefs, S, alpha, solver, lr, momentum,
                  nesterov, beta_1, beta_2, epsilon, t)  # fmt: skip
        accumulated += _batch_value(total, S, reg, n, loss_scale)
    return accumulated, t


@jit
def run_epoch_row_by_row(X, Y, sw, rows, params, table, acts, deltas, grad, tmp, first, second,
                         n_rows, batch_size, hidden, out_code, loss, alpha, loss_scale, solver,
                         lr, momentum, nesterov, beta_1, beta_2, epsilon, t):  # fmt: skip
    """``run_epoch`` for networks whose every layer is small: each batch's loss and
    gradient are computed one row at a time (``tmp`` is not used).

    For each row, the forward pass computes in_k = sum_j w_jk out_j + b_k neuron
    by neuron, and the backward pass adds out_j * delta_k to each weight's
    gradient while it sums the message delta_j = sum_k delta_k w_jk, in the same
    sweep over W: half the loops of the batched path, which matters when the
    loops are a few iterations long. Rows use the first row of each work block.

    Plain SGD (no momentum) on a batch of one row (batch_size 1, or a last batch
    of one) skips the gradient buffer: the sweep steps each weight as soon as it
    has read it for the message and has its gradient, the step ``_step`` would
    take after the sweep, with the same rounding. On the seed network (1-2-1,
    batches of one) that took ~15% off the epoch: zeroing, filling and re-reading
    the gradient, and the step's own pass. Momentum and Adam keep the buffer:
    their steps written into the sweep too cost ~0.7 s more of cold compilation
    for every fit, for a rarely used combination (batches of one).

    The row loop is written out here rather than called: with one row per batch a
    call per batch cost ~20% of the seed network's epoch, and Numba's inlining
    (``jit_inline``) of a function this size costs ~1.5 s more of compilation.
    """
    dense, data, indices, indptr = X
    last = table.shape[0] - 1
    m_out, p_off = table[last, FAN_OUT], table[last, OUT_OFF]
    n_coefs = table[0, B_OFF]
    dt = params.dtype.type
    zero = dt(0)
    lr_, a_ = dt(lr), dt(alpha)  # cast as sgd_step casts them
    accumulated = 0.0
    for start in range(0, n_rows, batch_size):
        n = min(batch_size, n_rows - start)
        in_sweep = n == 1 and solver != ADAM and momentum == 0  # step inside the sweep
        S, reg = _batch_weight_and_l2(params, n_coefs, sw, rows, start, n, alpha)
        s, inv = dt(S), dt(exact_reciprocal(S))
        if not in_sweep:
            for q in range(params.shape[0]):
                grad[q] = 0
        total = 0.0
        for i in range(start, start + n):
            _gather_rows(dense, data, indices, indptr, rows, i, 1, table[0, FAN_IN], acts)
            for l in range(last + 1):
                k, m = table[l, FAN_IN], table[l, FAN_OUT]
                a_off, z_off, w_off, b_off = (
                    table[l, IN_OFF],
                    table[l, OUT_OFF],
                    table[l, W_OFF],
                    table[l, B_OFF],
                )
                for j in range(m):
                    z = zero
                    for p in range(k):
                        z += acts[a_off + p] * params[w_off + p * m + j]
                    acts[z_off + j] = z + params[b_off + j]
                activate(acts, z_off, 1, m, hidden if l < last else out_code)
            total += loss_and_delta(acts, p_off, 1, m_out, Y, sw, rows, i, loss, out_code,
                                    deltas, table[last, DELTA_OFF])  # fmt: skip
            for l in range(last, -1, -1):
                k, m = table[l, FAN_IN], table[l, FAN_OUT]
                a_off, w_off, b_off, d_off = (
                    table[l, IN_OFF],
                    table[l, W_OFF],
                    table[l, B_OFF],
                    table[l, DELTA_OFF],
                )
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
                            params[q] = swept(w, a, d, alpha, a_, s, inv, lr_)
                        else:
                            grad[q] += a * d
                    if l > 0:
                        deltas[dp_off + p] = message
                for j in range(m):
                    if in_sweep:
                        params[b_off + j] = stepped(params[b_off + j], deltas[d_off + j], s, inv,
                                                    lr_)  # fmt: skip
                    else:
                        grad[b_off + j] += deltas[d_off + j]
                if l > 0:
                    backprop_derivative(acts, a_off, deltas, dp_off, k, hidden)
        if not in_sweep:
            t = _step(params, grad, first, second, n_coefs, S, alpha, solver, lr, momentum,
                      nesterov, beta_1, beta_2, epsilon, t)  # fmt: skip
        accumulated += _batch_value(total, S, reg, n, loss_scale)
    return accumulated, t


@jit_inline
def _batch_weight_and_l2(params, n_coefs, sw, rows, start, n, alpha):
    """The batch's summed sample weight S and the L2 term of its loss, 1/2 alpha |W|^2 / S,
    from the weights before the batch's step."""
    S = 0.0
    for i in range(start, start + n):
        S += sw[rows[i]]
    return S, l2_term(params, n_coefs, alpha, S)


@jit_inline
def _batch_value(total, S, reg, n, loss_scale):
    """The batch's loss times its rows, (loss_scale * total / S + reg) * n, without the
    exact x / 1 and x * 1 of a batch of one unit-weight row: on the seed network (a
    division and a conversion per row) they were ~8% of the epoch."""
    value = loss_scale * total
    if S != 1:
        value /= S
    value += reg
    if n != 1:
        value *= n
    return value


@jit
def _step(params, grad, first, second, n_coefs, S, alpha, solver, lr, momentum, nesterov,
          beta_1, beta_2, epsilon, t):  # fmt: skip
    """The optimizer's step after a batch of summed sample weight ``S`` whose unnormalised
    gradient is in ``grad``. Returns the number of Adam steps taken.

    A call, not inlined: compiled once and cached on its own, its SGD and Adam
    steps are not copied into each epoch kernel's Numba IR, which took ~0.5 s off
    a cold-cache fit. One call per batch cost nothing measurable on the bench
    cases (on the seed network, batches of one, plain SGD steps inside the sweep).
    """
    # The step finishes the gradient (divides by S, adds alpha W / S) as it goes.
    if solver == ADAM:
        t += 1
        adam_step(params, grad, first, second, t, lr, beta_1, beta_2, epsilon, n_coefs, alpha, S)
    else:
        sgd_step(params, grad, first, lr, momentum, nesterov, n_coefs, alpha, S)
    return t
