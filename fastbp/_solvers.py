"""Solvers for the estimators: the stochastic optimizers' state and L-BFGS.

The per-batch arithmetic is compiled (``_engine.run_epoch``); what lives here
is what scikit-learn does between epochs: the learning-rate schedules and the
decision to stop or to divide the learning rate by 5.
"""

import numpy as np
import scipy.optimize
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result

from ._tables import ADAM, SOLVERS
from ._threads import blas_controller, single_blas_thread_if


class StochasticOptimizer:
    """State of ``sgd`` or ``adam`` across epochs and calls of partial_fit.

    ``state`` holds the flat buffers the epoch kernel updates: the velocity
    (SGD; left at zero when momentum is 0) or the first and second moments
    (Adam), laid out like ``params``.
    ``t`` counts Adam steps.
    """

    def __init__(self, est, n_params, dtype):
        self.code = SOLVERS[est.solver]
        self.learning_rate_init = est.learning_rate_init
        self.learning_rate = float(est.learning_rate_init)
        self.lr_schedule = est.learning_rate
        self.momentum = est.momentum
        self.nesterov = est.nesterovs_momentum
        self.power_t = est.power_t
        self.beta_1, self.beta_2, self.epsilon = est.beta_1, est.beta_2, est.epsilon
        self.t = 0
        self.state = np.zeros((2 if self.code == ADAM else 1, n_params), dtype=dtype)

    def epoch_args(self):
        """The optimizer's scalar arguments of ``run_epoch``, in its order (its
        buffers, ``state``, are passed with the fit's other arrays)."""
        lr = self.learning_rate_init if self.code == ADAM else self.learning_rate
        return (
            self.code,
            float(lr),
            float(self.momentum),
            bool(self.nesterov),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
            self.t,
        )

    def iteration_ends(self, time_step):
        """After each epoch: the invscaling schedule, lr_init / (t + 1) ** power_t."""
        if self.code != ADAM and self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """Stop, or with the adaptive schedule divide the learning rate by 5 and go on."""
        if self.code == ADAM or self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


def minimize_lbfgs(loss_grad, params, max_iter, max_fun, tol, verbose, callback=None):
    """L-BFGS-B over the flat buffer; returns scipy's result, ``params`` untouched.

    ``loss_grad(x)`` returns the loss and gradient at the float64 point x.

    scipy's L-BFGS-B does its own vector arithmetic with BLAS level-1 calls, and
    OpenBLAS splits a ddot over more than ~10k elements across its threads: the
    sum's rounding, hence the iterates' last bits, would depend on the number of
    BLAS threads. So scipy's part runs on one BLAS thread, while ``loss_grad``
    (whose kernels give the same bits whatever the thread count: their gemm
    splits rows and columns, never a sum) gets the caller's threads back for its
    large products. Switching costs ~20 us per evaluation (threadpoolctl's ctypes
    calls); scipy's level-1 work is O(10 n_params) flops per iteration against
    the gradient's O(n_samples n_params). Measured on the 2-core machine, busy
    with other jobs, float64 fits of the bench's cases (small, mid, large; 2000
    to 20000 rows): 0.32x to 1.04x the time of scipy on the caller's 2 threads,
    never slower beyond noise (faster where the cores are oversubscribed).
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
