"""Loss kernels: the loss of a batch and the output delta dL/dz.

Both take the batch's outputs ``P`` (rows = samples, after the output
activation), the targets ``Y`` and sample weights ``sw`` of the whole data set,
and ``idx[start:start + n]``, the rows of ``Y`` the batch holds.

``batch_loss`` returns the *unnormalised* sum  sum_i s_i l_i;  callers divide by
S = sum_i s_i. Per sample:

    squared_error  l = sum_k 1/2 (y_k - p_k)^2
    log_loss       l = -sum_k y_k log p_k            (softmax outputs)
                   l = -sum_k y log p + (1-y) log(1-p)  (logistic outputs)
    poisson        l = sum_k y log(y/p) - y + p

with p clipped to [eps, 1 - eps] in log_loss as scikit-learn does.

``output_delta`` writes delta_k = s_i dl/dz_k, the seeds' output delta
(dE/dout times f'(in)) for every sample, not yet divided by S.
"""

import math

import numpy as np

from ._config import jit
from ._tables import EXP, IDENTITY, LOG_LOSS, LOGISTIC, POISSON, SOFTMAX, SQUARED_ERROR


@jit
def batch_loss(P, Y, sw, idx, start, loss, out_code):
    """Return sum_i s_i l(y_i, p_i) over the batch."""
    n, m = P.shape
    eps = np.finfo(P.dtype).eps
    total = 0.0
    for i in range(n):
        r = idx[start + i]
        li = 0.0
        for k in range(m):
            y = Y[r, k]
            p = P[i, k]
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
        total += sw[r] * li
    return total


@jit
def output_delta(P, Y, sw, idx, start, loss, out_code, D):
    """Write s_i * dl/dz into ``D`` for the batch's rows."""
    n, m = P.shape
    canonical = (
        (loss == SQUARED_ERROR and out_code == IDENTITY)
        or (loss == LOG_LOSS and (out_code == LOGISTIC or out_code == SOFTMAX))
        or (loss == POISSON and out_code == EXP)
    )
    for i in range(n):
        r = idx[start + i]
        s = sw[r]
        for k in range(m):
            # dl/dp for squared_error (the only non-canonical loss allowed)
            D[i, k] = P[i, k] - Y[r, k]
        if not canonical:
            if out_code == LOGISTIC:
                for k in range(m):
                    D[i, k] *= P[i, k] * (1 - P[i, k])
            elif out_code == EXP:
                for k in range(m):
                    D[i, k] *= P[i, k]
            elif out_code == SOFTMAX:
                # Jacobian of softmax: dp_j/dz_k = p_j (1[j=k] - p_k)
                g_dot_p = 0.0
                for k in range(m):
                    g_dot_p += D[i, k] * P[i, k]
                for k in range(m):
                    D[i, k] = P[i, k] * (D[i, k] - g_dot_p)
        for k in range(m):
            D[i, k] *= s
