"""Solvers for the estimators: the stochastic optimizers' state and L-BFGS.

The epochs, and what scikit-learn does between them (the schedules, the
stopping rule), are compiled (``_kernels.fits``), and so is L-BFGS
(``_kernels.lbfgs``); what lives here is the optimizer's state across calls, the
pace of the calls, and the L-BFGS run's result as scipy gives it.
"""

import time

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from ._config import EPOCHS_CALL_S
from ._kernels import lbfgs, protocol
from ._kernels.codes import ADAM
from ._tables import SOLVERS


class StochasticOptimizer:
    """State of ``sgd`` or ``adam`` across epochs and calls of partial_fit.

    ``state`` holds the flat buffers the epoch kernels update: the velocity (SGD;
    left at zero when momentum is 0) or the first and second moments (Adam), laid
    out like the params. ``t`` counts Adam steps.
    """

    # What a model file holds of the optimizer (fastbp.io), by the file's names;
    # ``state`` is an array of its own there.
    FIELDS = (
        "code",
        "learning_rate_init",
        "learning_rate",
        "lr_schedule",
        "momentum",
        "nesterov",
        "power_t",
        "beta_1",
        "beta_2",
        "epsilon",
        "t",
    )

    def __init__(
        self,
        solver,
        n_params,
        dtype,
        *,
        learning_rate_init,
        learning_rate,
        momentum,
        nesterovs_momentum,
        power_t,
        beta_1,
        beta_2,
        epsilon,
    ):
        """``solver`` is "sgd" or "adam"; ``learning_rate`` the schedule's name, the
        rest scikit-learn's parameters of the same names."""
        self.code = SOLVERS[solver]
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = learning_rate
        self.momentum = momentum
        self.nesterov = nesterovs_momentum
        self.power_t = power_t
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.state = np.zeros((2 if self.code == ADAM else 1, n_params), dtype=dtype)

    def moments(self):
        """The buffers as the epoch kernels take them (``protocol.Moments``)."""
        return protocol.moments(self.state)

    def step(self):
        """The settings of the next epoch's steps (``protocol.Step``)."""
        lr = self.learning_rate_init if self.code == ADAM else self.learning_rate
        return protocol.step(
            self.code,
            lr,
            self.momentum,
            self.nesterov,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.t,
        )

    def fitted_state(self):
        """The scalars a model file keeps, by the names of ``FIELDS``."""
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def _from_fitted_state(cls, fields, state):
        """An optimizer with the scalars ``fields`` (by ``FIELDS``) and buffers ``state``."""
        optimizer = cls.__new__(cls)
        for name in cls.FIELDS:
            setattr(optimizer, name, fields[name])
        optimizer.state = state
        return optimizer


class Pace:
    """How much of a fit the next call of a compiled loop runs (epochs, evaluations): as
    many as last about EPOCHS_CALL_S by the calls so far (at first one, then at most
    4 times as many as the last call), at most ``most``: Python gets control back
    often enough to answer Ctrl-C.

    Fits of the same ``key`` (the same work per step: sizes, rows, batch, solver)
    start where the last one ended, rather than at one: many fits alike (seeds,
    ensembles, searches) then run in one or two calls each, not five or six."""

    def __init__(self, most, key=None):
        self.most, self.key = most, key
        self.n = max(1, min(most, _LAST.get(key, 1)))

    def steps(self):
        return self.n

    def took(self, seconds, steps):
        if steps > 0:
            fit = int(EPOCHS_CALL_S * steps / seconds) if seconds > 0 else self.most
            self.n = max(1, min(self.most, fit, 4 * self.n))
            if self.key is not None:
                if len(_LAST) >= 256:  # (a bound: keys of fits long done)
                    _LAST.clear()
                _LAST[self.key] = self.n


_LAST = {}  # Pace's last steps per call, by key


# scipy's messages of the runs' ends (its L-BFGS-B's status and task codes)
_STATUS = {lbfgs.CONVERGENCE: "CONVERGENCE", lbfgs.STOP: "STOP", lbfgs.ABNORMAL: "ABNORMAL"}
_MESSAGES = {
    lbfgs.NO_MESSAGE: "",
    lbfgs.NORM_OF_GRADIENT: "NORM OF PROJECTED GRADIENT <= PGTOL",
    lbfgs.REDUCTION_OF_F: "RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    lbfgs.EVALUATIONS: "TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    lbfgs.ITERATIONS: "TOTAL NO. OF ITERATIONS REACHED LIMIT",
}


def minimize_lbfgs(network, data, targets, rows, loss, work, max_iter, max_fun, tol, interrupt,
                   bar):  # fmt: skip
    """scipy's L-BFGS-B as scikit-learn calls it, compiled (``_kernels/lbfgs``), from the
    network's parameters; returns scipy's result (x, fun, nit, nfev, status, message)
    and the iterations scikit-learn reports. The parameters hold the point evaluated
    last: the caller sets them to x.
    Ctrl-C raises KeyboardInterrupt, as in scikit-learn; ``bar`` gets each iteration."""
    opt = lbfgs.start(network.params, max_iter, max_fun, tol)
    net = network._net  # (writable: the run writes each point it evaluates there)
    alike = ("lbfgs", tuple(network.layer_sizes), network.dtype, rows.shape[0])
    pace = Pace(opt.curve.shape[0], key=alike)
    ints, floats = opt.ints, opt.floats
    done = lbfgs.PAUSED
    while done == lbfgs.PAUSED:
        interrupt.raise_if_held()
        ints[lbfgs.BUDGET] = pace.steps()
        ints[lbfgs.N_CURVE] = 0
        evaluated = int(ints[lbfgs.NFEV])
        start = time.perf_counter()
        done = lbfgs.run_lbfgs(data, targets, rows, net, work, loss, opt)
        pace.took(time.perf_counter() - start, int(ints[lbfgs.NFEV]) - evaluated)
        for value in opt.curve[: ints[lbfgs.N_CURVE]].tolist():
            bar.update(value)
    status, n_iter, nfev = int(ints[lbfgs.STATUS]), int(ints[lbfgs.N_ITER]), int(ints[lbfgs.NFEV])
    if status == lbfgs.CONVERGENCE:
        warnflag = 0
    elif nfev > max_fun or n_iter >= max_iter:
        warnflag = 1
    else:
        warnflag = 2
    res = scipy.optimize.OptimizeResult(
        x=opt.x,
        # (scipy reports the loss it evaluated last: where a failed line search ends
        # the run, its point is put back, but not its loss)
        fun=float(floats[lbfgs.F_EVALUATED]),
        nit=n_iter,
        nfev=nfev,
        status=warnflag,
        success=warnflag == 0,
        message=_STATUS[status] + ": " + _MESSAGES[int(ints[lbfgs.MESSAGE])],
    )
    return res, _check_optimize_result("lbfgs", res, max_iter)
