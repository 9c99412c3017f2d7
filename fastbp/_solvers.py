"""Solvers for the estimators: the stochastic optimizers' state and L-BFGS.

The epochs, and what scikit-learn does between them (the schedules, the
stopping rule), are compiled (``_kernels.fits``); what lives here is the
optimizer's state across calls, and the call of scipy's L-BFGS-B.
"""

import numpy as np
import scipy.optimize
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result

from ._kernels import protocol
from ._kernels.codes import ADAM
from ._tables import SOLVERS
from ._threads import blas_controller, single_blas_thread_if


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


def minimize_lbfgs(loss_grad, params, max_iter, max_fun, tol, verbose, callback=None):
    """L-BFGS-B over the flat buffer; returns scipy's result, ``params`` untouched.

    ``loss_grad(x)`` returns the loss and gradient at the float64 point x.

    scipy's L-BFGS-B does its own vector arithmetic with BLAS level-1 calls, and
    OpenBLAS splits a long ddot across its threads: the sum's rounding, hence the
    iterates' last bits, would depend on the number of BLAS threads. So scipy's
    part runs on one BLAS thread, while ``loss_grad`` gets the caller's threads back
    for its large products. Switching costs threadpoolctl's calls per evaluation,
    small against the gradient's work (DESIGN.md).
    """
    blas = blas_controller()
    caller = blas.info()
    if all(lib["num_threads"] == 1 for lib in caller):  # e.g. fits in worker threads
        return _minimize_lbfgs(loss_grad, params, max_iter, max_fun, tol, verbose, callback)

    def with_callers_threads(x):
        with blas.limit(limits=caller):
            return loss_grad(x)

    with single_blas_thread_if(True):  # shared with fits in other threads (_threads.py)
        return _minimize_lbfgs(
            with_callers_threads, params, max_iter, max_fun, tol, verbose, callback
        )


def _minimize_lbfgs(loss_grad, params, max_iter, max_fun, tol, verbose, callback):
    iprint = 1 if verbose is True or verbose >= 1 else -1
    res = scipy.optimize.minimize(
        loss_grad,
        params,
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={
            "maxfun": max_fun,
            "maxiter": max_iter,
            "gtol": tol,
            **_get_additional_lbfgs_options_dict("iprint", iprint),
        },
    )
    n_iter = _check_optimize_result("lbfgs", res, max_iter)
    return res, n_iter
