"""Loss kernel: the loss of a batch and its output delta dL/dz, in one pass.

``loss_and_delta`` reads the batch's outputs p (after the output activation)
from the flat activation buffer at ``p_off`` (n rows of m), and the targets
Y and sample weights s of the whole data set (``protocol.Targets``) at rows
``rows[start:start + n]``. It returns the *unnormalised* sum  sum_i s_i l_i
(callers divide by S = sum_i s_i), per sample:

    squared_error  l = sum_k 1/2 (y_k - p_k)^2
    log_loss       l = -sum_k y_k log p_k            (softmax outputs)
                   l = -sum_k y log p + (1-y) log(1-p)  (logistic outputs)
    poisson        l = sum_k y log(y/p) - y + p

with p clipped to [eps, 1 - eps] in log_loss as scikit-learn does, and writes
delta_k = s_i dl/dz_k into ``deltas`` at ``d_off``: the seeds' output delta
(dE/dout times f'(in)) for every sample, not yet divided by S.

Each loss has a kernel of its own (``squared_error``, ``log_loss``, ``poisson``:
the loss, and p - y in ``deltas``), followed, where the output activation is not
the loss's canonical one, by ``chain_rule`` (dl/dz from dl/dp), then by
``weigh`` (times s_i). ``loss_and_delta`` picks them by code; the generated
kernels call them by name (``LOSSES``), so that they compile one loss only.
"""

import math

from .codes import EXP, IDENTITY, LOG_LOSS, LOGISTIC, POISSON, SOFTMAX, SQUARED_ERROR
from .config import jit_inline


@jit_inline
def loss_and_delta(acts, p_off, n, m, targets, rows, start, loss, out_code, deltas, d_off):
    """Return sum_i s_i l(y_i, p_i) over the batch, and write s_i * dl/dz for its
    rows into ``deltas`` at ``d_off``."""
    # a canonical pair's deltas are weighed in the loss's own pass (a second pass over
    # the batch's rows and weights cost small networks a few percent of an epoch)
    fused = canonical(loss, out_code)
    if loss == SQUARED_ERROR:
        total = squared_error(acts, p_off, n, m, targets, rows, start, deltas, d_off, fused)
    elif loss == LOG_LOSS:
        binary = out_code == LOGISTIC
        total = log_loss(acts, p_off, n, m, targets, rows, start, deltas, d_off, binary, fused)
    else:
        total = poisson(acts, p_off, n, m, targets, rows, start, deltas, d_off, fused)
    if not fused:
        chain_rule(acts, p_off, n, m, out_code, deltas, d_off)
        weigh(deltas, d_off, n, m, targets.weights, rows, start)
    return total


@jit_inline
def canonical(loss, out_code):
    """Whether p - y is dl/dz itself: the loss and the output activation are a
    canonical pair."""
    return (
        (loss == SQUARED_ERROR and out_code == IDENTITY)
        or (loss == LOG_LOSS and (out_code == LOGISTIC or out_code == SOFTMAX))
        or (loss == POISSON and out_code == EXP)
    )


# Each loss: returns sum_i s_i l_i over rows[start:start + n] and writes p - y (dl/dz
# for the canonical pairs, dl/dp for the others) into deltas; ``weighed``: times s_i
# (``weigh``, in the same pass).


@jit_inline
def squared_error(acts, p_off, n, m, targets, rows, start, deltas, d_off, weighed):
    Y, sw = targets.Y, targets.weights
    total = 0.0
    for i in range(n):
        r = rows[start + i]
        p0, d0 = p_off + i * m, d_off + i * m
        li = 0.0
        for k in range(m):
            y, p = Y[r, k], acts[p0 + k]
            deltas[d0 + k] = p - y
            li += 0.5 * (y - p) * (y - p)
        total += sw[r] * li
        if weighed:
            _weigh_row(deltas, d0, m, sw[r])
    return total


@jit_inline
def log_loss(acts, p_off, n, m, targets, rows, start, deltas, d_off, binary, weighed):
    """``binary``: logistic outputs, each the probability of its own 0/1 label."""
    Y, sw = targets.Y, targets.weights
    # machine epsilon of the buffer's dtype: scikit-learn's clip
    eps = 1.1920928955078125e-07 if acts.itemsize == 4 else 2.220446049250313e-16
    total = 0.0
    for i in range(n):
        r = rows[start + i]
        p0, d0 = p_off + i * m, d_off + i * m
        li = 0.0
        for k in range(m):
            y, p = Y[r, k], acts[p0 + k]
            deltas[d0 + k] = p - y
            p = min(max(p, eps), 1 - eps)
            if y != 0:
                li -= y * math.log(p)
            if binary and y != 1:
                li -= (1 - y) * math.log(1 - p)
        total += sw[r] * li
        if weighed:
            _weigh_row(deltas, d0, m, sw[r])
    return total


@jit_inline
def poisson(acts, p_off, n, m, targets, rows, start, deltas, d_off, weighed):
    Y, sw = targets.Y, targets.weights
    total = 0.0
    for i in range(n):
        r = rows[start + i]
        p0, d0 = p_off + i * m, d_off + i * m
        li = 0.0
        for k in range(m):
            y, p = Y[r, k], acts[p0 + k]
            deltas[d0 + k] = p - y
            if y != 0:
                li += y * math.log(y / p)
            li += p - y
        total += sw[r] * li
        if weighed:
            _weigh_row(deltas, d0, m, sw[r])
    return total


@jit_inline
def chain_rule(acts, p_off, n, m, out_code, deltas, d_off):
    """deltas (dl/dp) times dp/dz, for the outputs p of activation ``out_code``."""
    for i in range(n):
        p0, d0 = p_off + i * m, d_off + i * m
        if out_code == LOGISTIC:
            for k in range(m):
                p = acts[p0 + k]
                deltas[d0 + k] *= p * (1 - p)
        elif out_code == EXP:
            for k in range(m):
                deltas[d0 + k] *= acts[p0 + k]
        elif out_code == SOFTMAX:
            # Jacobian of softmax: dp_j/dz_k = p_j (1[j=k] - p_k)
            g_dot_p = 0.0
            for k in range(m):
                g_dot_p += deltas[d0 + k] * acts[p0 + k]
            for k in range(m):
                deltas[d0 + k] = acts[p0 + k] * (deltas[d0 + k] - g_dot_p)


@jit_inline
def weigh(deltas, d_off, n, m, sw, rows, start):
    """Each row's deltas times its sample weight s_i."""
    for i in range(n):
        _weigh_row(deltas, d_off + i * m, m, sw[rows[start + i]])


@jit_inline
def _weigh_row(deltas, d0, m, s):
    """A row's m deltas times s (unit weights, the common case, skip it: x * 1 = x)."""
    if s != 1:
        for k in range(m):
            deltas[d0 + k] *= s


# Each loss's kernel, by name, for the generated kernels.
LOSSES = {SQUARED_ERROR: "squared_error", LOG_LOSS: "log_loss", POISSON: "poisson"}
