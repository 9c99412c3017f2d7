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
"""

import math

from .codes import EXP, IDENTITY, LOG_LOSS, LOGISTIC, POISSON, SOFTMAX, SQUARED_ERROR
from .config import jit_inline


@jit_inline
def loss_and_delta(acts, p_off, n, m, targets, rows, start, loss, out_code, deltas, d_off):
    """Return sum_i s_i l(y_i, p_i) over the batch, and write s_i * dl/dz for its
    rows into ``deltas`` at ``d_off``. One pass for both: as two functions, each
    reading the rows, targets and weights, small networks' epochs took longer."""
    Y, sw = targets.Y, targets.weights
    # machine epsilon of the buffer's dtype: scikit-learn's clip for log_loss
    eps = 1.1920928955078125e-07 if acts.itemsize == 4 else 2.220446049250313e-16
    canonical = (
        (loss == SQUARED_ERROR and out_code == IDENTITY)
        or (loss == LOG_LOSS and (out_code == LOGISTIC or out_code == SOFTMAX))
        or (loss == POISSON and out_code == EXP)
    )
    total = 0.0
    for i in range(n):
        r = rows[start + i]
        s = sw[r]
        p0 = p_off + i * m
        d0 = d_off + i * m
        li = 0.0
        for k in range(m):
            y = Y[r, k]
            p = acts[p0 + k]
            # p - y: dl/dz for the canonical pairs, dl/dp for squared_error
            deltas[d0 + k] = p - y
            if loss == SQUARED_ERROR:
                li += 0.5 * (y - p) * (y - p)
            elif loss == LOG_LOSS:
                p = min(max(p, eps), 1 - eps)
                if y != 0:
                    li -= y * math.log(p)
                if out_code == LOGISTIC and y != 1:
                    li -= (1 - y) * math.log(1 - p)
            elif loss == POISSON:
                if y != 0:
                    li += y * math.log(y / p)
                li += p - y
        total += s * li
        if not canonical:
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
        if s != 1:  # (x * 1 = x: a unit weight, the common case, skips the pass)
            for k in range(m):
                deltas[d0 + k] *= s
    return total
