"""L-BFGS in compiled code: scipy's L-BFGS-B without bounds, as scikit-learn calls it.

The algorithm is that of scipy's ``minimize(method="L-BFGS-B")`` on a problem
with no bounds (scipy 1.15+: a C translation of L-BFGS-B 3.0), with scikit-learn's
options (``maxiter``, ``maxfun``, ``gtol``; scipy's defaults for the rest: m = 10
corrections, ``ftol`` 2.2e-9, 20 steps per line search), and scipy's Python
loop around it (its iteration count, its limits, its evaluation count, which does
not count a point evaluated twice in a row). Without bounds, L-BFGS-B reduces to:

- the first direction, and the first after a restart, is -g: the Cauchy point
  x - g / theta with theta = 1, minus x;
- then d = -H g, H the L-BFGS inverse Hessian of the last m pairs (s, y) with
  H0 = I / theta, theta = y'y / s'y of the last pair (the two-loop recursion;
  L-BFGS-B's subspace minimisation over all variables gives the same step);
- the line search of Moré and Thuente (MINPACK-2's dcsrch, ftol 1e-3, gtol 0.9,
  xtol 0.1), from a first step of 1 / |d| at the first iteration, else 1;
- a pair is skipped where s'y <= eps * (-g'd) * step; a line search that fails
  restores the previous point and restarts from -g, or ends the run
  (ABNORMAL) if it was already a steepest-descent step;
- it stops where max|g| <= pgtol, or the loss decreased by at most
  ftol * max(|f_old|, |f|, 1), or at the iteration or evaluation limit.

The state lives in the arrays of ``protocol.Lbfgs`` (``ints`` and ``floats`` by the
indices below), so that ``run_lbfgs`` can stop before any evaluation of the loss
and gradient, after ``opt.ints[BUDGET]`` of them, and go on at the next call:
Python gets control back often enough to answer Ctrl-C. Iterates agree with
scipy's to rounding (tests/test_lbfgs.py): dot products are summed in 8 lanes
(``vectors.dot``), where scipy's BLAS has its own blocks.
"""

import math

import numpy as np
from numba import uint64

from . import protocol
from .config import jit, jit_inline, jit_internal
from .passes import loss_gradient
from .vectors import dot, max_abs, update_dot, update_scale_dot

# opt.ints
(PHASE, BUDGET, N_ITER, NFEV, ITER, COL, HEAD, IFUN, IBACK, BRACKT, STAGE, LS_TASK, STATUS,
 MESSAGE, N_CURVE) = range(15)  # fmt: skip
# opt.floats
(F, F_EVALUATED, FOLD, GD, GDOLD, STP, DNORM, THETA, SBGNRM, GINIT, GTEST, GX, GY, FINIT, FX,
 FY, STX, STY, STMIN, STMAX, WIDTH, WIDTH1) = range(22)  # fmt: skip

# Phases: what the next step of the run is.
EVALUATE_START, CHECK_START, DIRECTION, SEARCH, EVALUATE_STEP, DONE = range(6)
# What run_lbfgs returned: more to do, or done.
PAUSED, FINISHED = range(2)
# How a run ended (opt.ints[STATUS], scipy's task: its message is
# status_messages[status] + ": " + task_messages[message] in scipy).
CONVERGENCE, STOP, ABNORMAL = 4, 5, 8
NORM_OF_GRADIENT, REDUCTION_OF_F, EVALUATIONS, ITERATIONS = 401, 402, 502, 504
NO_MESSAGE = 0
# The line search's task.
LS_START, LS_FG, LS_CONVERGENCE, LS_WARNING = range(4)

EPSMCH = 2.220446049250313e-16
_FTOL, _GTOL, _XTOL = 1e-3, 0.9, 0.1  # the line search's
_STPMAX = 1e10  # the largest step of a line search without bounds
_XTRAPL, _XTRAPU = 1.1, 4.0


def start(x0, maxiter, maxfun, pgtol, ftol=2.2204460492503131e-09, m=10, maxls=20):
    """A new run from x0 (``protocol.Lbfgs``), with scipy's settings of the same names
    (its defaults for those scikit-learn leaves); its tolerance on the decrease of
    the loss is scipy's: factr * eps with factr = ftol / eps."""
    ints, floats = np.zeros(15, dtype=np.int64), np.zeros(22)
    ints[PHASE] = EVALUATE_START
    floats[THETA] = 1.0
    tol = ftol / EPSMCH * EPSMCH
    return protocol.lbfgs(x0, m, maxiter, maxfun, pgtol, tol, maxls, ints, floats)


@jit
def run_lbfgs(data, targets, rows, net, work, loss, opt):
    """Go on with the L-BFGS run in ``opt`` (``protocol.Lbfgs``) on the full-batch loss
    and gradient of ``passes.loss_gradient``, for at most opt.ints[BUDGET] evaluations;
    returns PAUSED or FINISHED. The network's parameters hold the last point
    evaluated; the point, loss and gradient of the run are opt.x, floats[F], opt.g."""
    ints = opt.ints
    while True:
        phase = ints[PHASE]
        if phase == EVALUATE_START or phase == EVALUATE_STEP:
            if ints[BUDGET] == 0:
                return PAUSED
            _evaluate(data, targets, rows, net, work, loss, opt)
            ints[PHASE] = CHECK_START if phase == EVALUATE_START else SEARCH
        elif phase == DONE:
            return FINISHED
        else:
            advance(opt)


@jit_internal
def advance(opt):
    """The run's steps up to its next evaluation, or its end (all in float64: one
    compiled function for both dtypes of networks)."""
    ints, floats = opt.ints, opt.floats
    while True:
        phase = ints[PHASE]
        if phase == CHECK_START:
            floats[SBGNRM] = max_abs(opt.g)
            if floats[SBGNRM] <= opt.pgtol:
                _finish(ints, CONVERGENCE, NORM_OF_GRADIENT)
            else:
                ints[PHASE] = DIRECTION
        elif phase == DIRECTION:
            _direction(opt)
            _start_search(opt)
            ints[PHASE] = SEARCH
        elif phase == SEARCH:
            _search(opt)
        else:
            return


@jit_inline
def _finish(ints, status, message):
    ints[STATUS] = status
    ints[MESSAGE] = message
    ints[PHASE] = DONE


@jit_inline
def _evaluate(data, targets, rows, net, work, loss, opt):
    """The loss and gradient at opt.x, in the network's dtype, into floats[F] and opt.g;
    not again where x is the point evaluated last (scipy's evaluation is cached)."""
    ints, floats = opt.ints, opt.floats
    x, g, params = opt.x, opt.g, net.params
    same = ints[NFEV] > 0
    for i in range(x.shape[0] if same else 0):  # (nothing evaluated yet: never written)
        if x[i] != opt.x_evaluated[i]:
            same = False
            break
    if same:
        floats[F] = floats[F_EVALUATED]
        for i in range(x.shape[0]):
            g[i] = opt.g_evaluated[i]
        return
    for i in range(x.shape[0]):
        params[i] = x[i]
        opt.x_evaluated[i] = x[i]
    value = loss_gradient(data, targets, rows, net, work, loss)
    grad = work.grad
    for i in range(x.shape[0]):
        g[i] = grad[i]
        opt.g_evaluated[i] = g[i]
    floats[F] = value
    floats[F_EVALUATED] = value
    ints[NFEV] += 1
    ints[BUDGET] -= 1


# C's fmin and fmax, which L-BFGS-B uses: a NaN argument gives the other one
# (Python's min and max give whichever comes first).
@jit_inline
def _fmin(a, b):
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return a if a < b else b


@jit_inline
def _fmax(a, b):
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return a if a > b else b


@jit_inline
def _dot(a, b):
    return dot(a, 0, b, 0, a.shape[0])


@jit_inline
def _direction(opt):
    """d (and z = x + d): -g at the first iteration and after a restart, else -H g."""
    ints, floats = opt.ints, opt.floats
    x, g, d, z = opt.x, opt.g, opt.d, opt.z
    n = x.shape[0]
    col = ints[COL]
    if col == 0:
        # L-BFGS-B's Cauchy point with B = theta I, theta = 1: x - t g with t the
        # model's minimiser along -g, -f1 / f2 = 1
        f1 = 0.0
        for i in range(n):
            f1 -= g[i] * g[i]
        f2 = -floats[THETA] * f1
        t = -f1 / f2 if f1 != 0 else 0.0
        for i in range(n):
            z[i] = x[i] + t * -g[i]
            d[i] = z[i] - x[i]
    else:
        _two_loop(opt, col, ints[HEAD], floats[THETA])
        q = opt.q
        for i in range(n):
            z[i] = x[i] - q[i]
            d[i] = z[i] - x[i]


@jit_inline
def _two_loop(opt, col, head, theta):
    """q = H g by the two-loop recursion over the ``col`` pairs from ``head`` in the ring,
    newest first, then oldest first: each update of q and the next pair's dot product
    with it in one pass (``vectors.update_dot``; ``q -= a y`` as ``q + y (-a)``, the
    same numbers)."""
    g, q, alpha, m = opt.g, opt.q, opt.alpha, opt.S.shape[0]
    S, Y, n = opt.S.reshape(-1), opt.Y.reshape(-1), g.shape[0]
    j = (head + col - 1) % m
    product = dot(S, j * n, g, 0, n)  # s_j . q, q = g
    src = g
    for k in range(col - 1, -1, -1):
        j = (head + k) % m
        a = opt.rho[j] * product
        alpha[k] = a
        if k > 0:  # q -= a y_j; then s . q of the next pair
            product = update_dot(q, src, Y, j * n, -a, S, (head + k - 1) % m * n, n)
        else:  # and q /= theta; then y . q of the oldest, where the second loop starts
            product = update_scale_dot(q, src, Y, j * n, -a, theta, Y, head % m * n, n)
        src = q
    for k in range(col):
        j = (head + k) % m
        c = alpha[k] - opt.rho[j] * product
        if k < col - 1:  # q += s_j (alpha_k - b); then y . q of the next pair
            product = update_dot(q, q, S, j * n, c, Y, (head + k + 1) % m * n, n)
        else:
            row = uint64(j * n)
            for i in range(uint64(n)):
                q[i] += S[row + i] * c


@jit_inline
def _start_search(opt):
    """A line search along d from x: its first step, and the point, gradient and loss
    it starts from (t, r, fold)."""
    ints, floats = opt.ints, opt.floats
    dtd = _dot(opt.d, opt.d)
    floats[DNORM] = math.sqrt(dtd)
    if ints[ITER] == 0:
        floats[STP] = _fmin(1.0 / floats[DNORM], _STPMAX)
    else:
        floats[STP] = 1.0
    for i in range(opt.x.shape[0]):
        opt.t[i] = opt.x[i]
        opt.r[i] = opt.g[i]
    floats[FOLD] = floats[F]
    ints[IFUN] = 0
    ints[IBACK] = 0
    ints[LS_TASK] = LS_START


@jit_inline
def _search(opt):
    """The line search's next step, with the loss and gradient at the current step:
    another point to evaluate, or the new iterate and its tests."""
    ints, floats = opt.ints, opt.floats
    x, d = opt.x, opt.d
    floats[GD] = _dot(opt.g, d)
    if ints[IFUN] == 0:
        floats[GDOLD] = floats[GD]
        if floats[GD] >= 0:  # not a descent direction
            _search_failed(opt)
            return
    _dcsrch(floats[F], floats[GD], opt)
    if ints[LS_TASK] == LS_FG:
        ints[IFUN] += 1
        ints[IBACK] = ints[IFUN] - 1
        if ints[IBACK] >= opt.maxls:
            _search_failed(opt)
            return
        stp = floats[STP]
        if stp == 1.0:
            for i in range(x.shape[0]):
                x[i] = opt.z[i]
        else:
            for i in range(x.shape[0]):
                x[i] = stp * d[i] + opt.t[i]
        ints[PHASE] = EVALUATE_STEP
        return
    _new_iterate(opt)


@jit_inline
def _search_failed(opt):
    """Back to the point before the search; restart from -g, or end if that failed."""
    ints, floats = opt.ints, opt.floats
    for i in range(opt.x.shape[0]):
        opt.x[i] = opt.t[i]
        opt.g[i] = opt.r[i]
    floats[F] = floats[FOLD]
    if ints[COL] == 0:
        ints[ITER] += 1
        _finish(ints, ABNORMAL, NO_MESSAGE)
    else:
        ints[COL] = 0
        ints[HEAD] = 0
        floats[THETA] = 1.0
        ints[PHASE] = DIRECTION


@jit_inline
def _new_iterate(opt):
    """scipy's loop's count and limits at a new iterate, then L-BFGS-B's tests and update."""
    ints, floats = opt.ints, opt.floats
    ints[ITER] += 1
    floats[SBGNRM] = max_abs(opt.g)
    ints[N_ITER] += 1
    if ints[N_CURVE] < opt.curve.shape[0]:  # (the losses of this call's iterations)
        opt.curve[ints[N_CURVE]] = floats[F]
        ints[N_CURVE] += 1
    if ints[N_ITER] >= opt.maxiter:
        _finish(ints, STOP, ITERATIONS)
        return
    if ints[NFEV] > opt.maxfun:
        _finish(ints, STOP, EVALUATIONS)
        return
    if floats[SBGNRM] <= opt.pgtol:
        _finish(ints, CONVERGENCE, NORM_OF_GRADIENT)
        return
    f, fold = floats[F], floats[FOLD]
    if fold - f <= opt.tol * _fmax(_fmax(abs(fold), abs(f)), 1.0):
        _finish(ints, CONVERGENCE, REDUCTION_OF_F)
        return
    # the pair: s = x - x_old = stp d, y = g - g_old; s'y from the directional
    # derivatives, as L-BFGS-B computes it
    r, d, g = opt.r, opt.d, opt.g
    n = r.shape[0]
    for i in range(n):
        r[i] = g[i] - r[i]
    rr = _dot(r, r)
    stp = floats[STP]
    if stp == 1.0:
        dr = floats[GD] - floats[GDOLD]
        ddum = -floats[GDOLD]
    else:
        dr = (floats[GD] - floats[GDOLD]) * stp
        for i in range(n):
            d[i] *= stp
        ddum = -floats[GDOLD] * stp
    ints[PHASE] = DIRECTION
    if dr <= EPSMCH * ddum:  # skipped: not enough curvature
        return
    m = opt.S.shape[0]
    if ints[COL] < m:
        j = (ints[HEAD] + ints[COL]) % m
        ints[COL] += 1
    else:
        j = ints[HEAD]
        ints[HEAD] = (ints[HEAD] + 1) % m
    for i in range(n):
        opt.S[j, i] = d[i]
        opt.Y[j, i] = r[i]
    opt.rho[j] = 1.0 / dr
    floats[THETA] = rr / dr


@jit_inline
def _dcsrch(f, g, opt):
    """One step of the Moré-Thuente line search (MINPACK-2's dcsrch) at floats[STP], with
    the loss f and directional derivative g there; sets ints[LS_TASK]: LS_FG with the
    next step in floats[STP], or LS_CONVERGENCE / LS_WARNING."""
    ints, s = opt.ints, opt.floats
    stpmin, stpmax = 0.0, _STPMAX
    if ints[LS_TASK] == LS_START:
        ints[BRACKT] = 0
        ints[STAGE] = 1
        s[FINIT] = f
        s[GINIT] = g
        s[GTEST] = _FTOL * g
        s[WIDTH] = stpmax - stpmin
        s[WIDTH1] = s[WIDTH] / 0.5
        s[STX], s[FX], s[GX] = 0.0, f, g
        s[STY], s[FY], s[GY] = 0.0, f, g
        s[STMIN] = 0.0
        s[STMAX] = s[STP] + _XTRAPU * s[STP]
        ints[LS_TASK] = LS_FG
        return
    stp = s[STP]
    ftest = s[FINIT] + stp * s[GTEST]
    if ints[STAGE] == 1 and f <= ftest and g >= 0:
        ints[STAGE] = 2
    brackt = ints[BRACKT] == 1
    task = LS_FG
    if brackt and (stp <= s[STMIN] or stp >= s[STMAX]):
        task = LS_WARNING  # rounding errors prevent progress
    if brackt and s[STMAX] - s[STMIN] <= _XTOL * s[STMAX]:
        task = LS_WARNING  # xtol test satisfied
    if stp == stpmax and f <= ftest and g <= s[GTEST]:
        task = LS_WARNING
    if stp == stpmin and (f > ftest or g >= s[GTEST]):
        task = LS_WARNING
    if f <= ftest and abs(g) <= _GTOL * -s[GINIT]:
        task = LS_CONVERGENCE
    if task != LS_FG:
        ints[LS_TASK] = task
        return
    gtest = s[GTEST]
    if ints[STAGE] == 1 and f <= s[FX] and f > ftest:
        # the modified function psi(stp) = f(stp) - f(0) - ftol stp f'(0)
        stx, fxm, gxm, sty, fym, gym, stp, brackt = _dcstep(
            s[STX], s[FX] - s[STX] * gtest, s[GX] - gtest,
            s[STY], s[FY] - s[STY] * gtest, s[GY] - gtest,
            stp, f - stp * gtest, g - gtest, brackt, s[STMIN], s[STMAX],
        )  # fmt: skip
        s[FX] = fxm + stx * gtest
        s[FY] = fym + sty * gtest
        s[GX] = gxm + gtest
        s[GY] = gym + gtest
    else:
        stx, fx, gx, sty, fy, gy, stp, brackt = _dcstep(
            s[STX], s[FX], s[GX], s[STY], s[FY], s[GY], stp, f, g, brackt, s[STMIN], s[STMAX]
        )
        s[FX], s[GX], s[FY], s[GY] = fx, gx, fy, gy
    s[STX], s[STY] = stx, sty
    if brackt:
        if abs(sty - stx) >= 0.66 * s[WIDTH1]:
            stp = stx + 0.5 * (sty - stx)
        s[WIDTH1] = s[WIDTH]
        s[WIDTH] = abs(sty - stx)
        s[STMIN] = _fmin(stx, sty)
        s[STMAX] = _fmax(stx, sty)
    else:
        s[STMIN] = stp + _XTRAPL * (stp - stx)
        s[STMAX] = stp + _XTRAPU * (stp - stx)
    stp = _fmin(_fmax(stp, stpmin), stpmax)
    if brackt and (stp <= s[STMIN] or stp >= s[STMAX] or s[STMAX] - s[STMIN] <= _XTOL * s[STMAX]):
        stp = stx
    s[STP] = stp
    ints[BRACKT] = 1 if brackt else 0
    ints[LS_TASK] = LS_FG


@jit_inline
def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """MINPACK-2's dcstep: the safeguarded next step from the interval [stx, sty] and
    the trial step stp (cubic and quadratic interpolation); returns the updated
    interval ends with their values and derivatives, the step, and brackt."""
    sgnd = dp * (dx / abs(dx))
    if fp > fx:
        # a higher value: the minimum is bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = _fmax(abs(theta), _fmax(abs(dx), abs(dp)))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp < stx:
            gamma = -gamma
        p = (gamma - dx) + theta
        q = ((gamma - dx) + gamma) + dp
        stpc = stx + p / q * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        if abs(stpc - stx) < abs(stpq - stx):
            stpf = stpc
        else:
            stpf = stpc + (stpq - stpc) / 2.0
        brackt = True
    elif sgnd < 0.0:
        # derivatives of opposite signs: bracketed
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = _fmax(abs(theta), _fmax(abs(dx), abs(dp)))
        gamma = s * math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = ((gamma - dp) + gamma) + dx
        stpc = stp + p / q * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):
        # same sign, the derivative's magnitude decreases
        theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp
        s = _fmax(abs(theta), _fmax(abs(dx), abs(dp)))
        gamma = s * math.sqrt(_fmax(0.0, (theta / s) ** 2 - (dx / s) * (dp / s)))
        if stp > stx:
            gamma = -gamma
        p = (gamma - dp) + theta
        q = (gamma + (dx - dp)) + gamma
        r = p / q
        if r < 0.0 and gamma != 0.0:
            stpc = stp + r * (stx - stp)
        elif stp > stx:
            stpc = stpmax
        else:
            stpc = stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            if stp > stx:
                stpf = _fmin(stp + 0.66 * (sty - stp), stpf)
            else:
                stpf = _fmax(stp + 0.66 * (sty - stp), stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = _fmax(stpmin, _fmin(stpmax, stpf))
    else:
        # same sign, no decrease in magnitude
        if brackt:
            theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp
            s = _fmax(abs(theta), _fmax(abs(dy), abs(dp)))
            gamma = s * math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s))
            if stp > sty:
                gamma = -gamma
            p = (gamma - dp) + theta
            q = ((gamma - dp) + gamma) + dy
            stpf = stp + p / q * (sty - stp)
        elif stp > stx:
            stpf = stpmax
        else:
            stpf = stpmin
    # the new interval
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if sgnd < 0.0:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt
