"""The shared part of MLPRegressor and MLPClassifier: fitting a Network.

This follows scikit-learn 1.9's ``BaseMultilayerPerceptron`` step for step, so
that the same data and random_state give the same model: initialisation, then
the early-stopping split, then one shuffle of the running sample order per
epoch, all drawn from one RandomState; the same loss scaling, schedules and
stopping rule. The difference is where the numbers live and who computes them:
a ``fastbp.Network`` holds the parameters in one flat buffer (``coefs_`` and
``intercepts_`` are views into it) and trains them with the compiled kernels.
"""

import time
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._config import CHUNK_ROWS, EPOCHS_CALL_MAX
from ._inputs import plain_X_y, random_state, validate_parameters
from ._interrupts import HeldInterrupt
from ._kernels import fits, protocol
from ._kernels.codes import SGD, SQUARED_ERROR
from ._progress import progress_bar
from ._shuffle import Shuffler
from ._solvers import Pace, StochasticOptimizer, minimize_lbfgs
from ._tables import HIDDEN_ACTIVATIONS, LOSSES
from ._threads import single_blas_thread_if, single_blas_thread_off_main
from .network import Network

STOCHASTIC_SOLVERS = ("sgd", "adam")
SCHEDULES = {"constant": fits.CONSTANT, "invscaling": fits.INVSCALING, "adaptive": fits.ADAPTIVE}
# what a whole-fit call may end with that verbose prints a line about
_STOPPING = (fits.STOPPED, fits.LR_TOO_SMALL, fits.LR_DIVIDED)
_NO_ROWS = np.empty(0, dtype=np.int64)
_NO_SHUFFLING = (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint32))
ZERO_WEIGHTS = "Weights sum to zero, can't be normalized"  # numpy's, in scikit-learn's loss


def check_sparse_structure(X):
    """scipy's ValueError for a CSR or CSC matrix whose index arrays are
    inconsistent (built by hand, or corrupted): the kernels read them unchecked,
    as scipy's own code does, which crashes on them (scikit-learn's MLP too).
    Checked on a shallow copy: scipy's check may normalise the arrays it checks."""
    if sp.issparse(X) and X.format in ("csr", "csc"):
        copy = type(X)((X.data, X.indices, X.indptr), shape=X.shape, copy=False)
        copy.check_format(full_check=True)


class _SavedState:
    """What a fit may change of an estimator, kept to put back if the fit raises.

    The attributes are kept as they are (a fit replaces them) but for what a fit
    changes in place: the network's and the optimizer's own attributes, and the
    lists ``loss_curve_`` and ``validation_scores_``, whose items are copied; and,
    for a fit that goes on from the model (``copy_buffers``: warm_start, partial_fit),
    the values of the parameter buffer and the optimizer's, which it trains in
    place. A fit from scratch trains a new network with a new optimizer. (Early
    stopping's best weights are replaced, never written.) A RandomState passed as
    ``random_state`` is put back too, so that a call that raises draws nothing;
    NumPy's global generator (``random_state=None``) keeps the draws made.
    """

    def __init__(self, est, copy_buffers):
        self.attributes = dict(est.__dict__)
        self.values = []  # (array, copy of its values)
        # the objects whose attributes a fit replaces: (object, its attributes)
        self.objects = []
        network = self.attributes.get("_network")
        for name in ("_network", "_optimizer"):
            obj = self.attributes.get(name)
            if obj is None:
                continue
            self.objects.append((obj, dict(vars(obj))))
            a = obj.params if name == "_network" else obj.state
            # read-only buffers (memory-mapped) are trained on copies, never written
            if copy_buffers and a.flags.writeable:
                # into buffers the network keeps: fresh ones each call cost more
                copy = network._kept(("undo", name, a.shape), lambda a=a: np.empty_like(a))
                np.copyto(copy, a)
                self.values.append((a, copy))
        self.lists = {
            name: list(value)
            for name in ("loss_curve_", "validation_scores_")
            if isinstance(value := self.attributes.get(name), list)
        }
        rng = est.random_state
        self.rng = (rng, rng.get_state()) if isinstance(rng, np.random.RandomState) else None

    def restore(self, est):
        for array, values in self.values:
            array[...] = values
        for obj, fields in self.objects:
            vars(obj).clear()
            vars(obj).update(fields)
        for name, items in self.lists.items():
            self.attributes[name][:] = items
        if self.rng is not None:
            self.rng[0].set_state(self.rng[1])
        est.__dict__.clear()
        est.__dict__.update(self.attributes)


class BaseMLP(BaseEstimator):
    """Base class of fastbp's MLP estimators; use the subclasses."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "progress": ["boolean"],
    }

    def _validate_params(self):
        # (once per set of parameters and types: scikit-learn's checks, by value)
        validate_parameters(self, super()._validate_params)

    # ----- the network and its views -----

    def _set_network(self, network):
        """Fit ``network``: ``coefs_`` and ``intercepts_`` are views into its buffer."""
        self._network = network
        self._views = network._views("coefs_", "intercepts_")
        self.coefs_, self.intercepts_ = self._views

    def _synced_network(self):
        """The network, once the lists a user assigned to ``coefs_`` / ``intercepts_``
        are copied into its buffer, so that the model predicts with them and trains
        on from them, as scikit-learn's does; arrays assigned into the lists
        (``coefs_[0] = w``) are copied at once (``network.Views``). Each must keep its
        layer's shape; on a ValueError nothing has changed."""
        net = self._network
        if self.coefs_ is not self._views[0] or self.intercepts_ is not self._views[1]:
            net._assign(self.coefs_, self.intercepts_, ("coefs_", "intercepts_"))
            self.coefs_, self.intercepts_ = self._views
        return net

    def __getstate__(self):
        if "_network" in self.__dict__:
            self._synced_network()
        state = dict(super().__getstate__())  # may be self.__dict__ itself
        for name in ("coefs_", "intercepts_", "_views"):  # remade from the network
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        if "_params" in state:  # pickled before the estimators held a Network
            params, sizes = state.pop("_params"), state.pop("_sizes")
            best = state.get("_best_params")
            state["_best_params"] = None if best is params else best
            state["_network"] = Network._from_fitted_state(
                sizes, state["activation"], state["out_activation_"], params
            )
        super().__setstate__(state)
        if "_network" in state:
            self._set_network(self._network)

    # What a model file keeps of a fitted estimator besides its network, its
    # hyperparameters and its optimizer (fastbp.io checks each against the format).
    _FITTED_ATTRIBUTES = (
        "n_features_in_",
        "feature_names_in_",
        "n_outputs_",
        "n_layers_",
        "out_activation_",
        "n_iter_",
        "t_",
        "loss_",
        "loss_curve_",
        "best_loss_",
        "validation_scores_",
        "best_validation_score_",
        "_no_improvement_count",
    )

    def _fitted_state(self):
        """The fitted state, by name: the network (with any coefs_ / intercepts_ the
        user assigned), the fitted attributes of ``_FITTED_ATTRIBUTES`` it has, and
        the stochastic optimizer, if any."""
        check_is_fitted(self)
        names = [name for name in self._FITTED_ATTRIBUTES if hasattr(self, name)]
        return {
            "network": self._synced_network(),
            "attributes": {name: getattr(self, name) for name in names},
            "optimizer": getattr(self, "_optimizer", None),
        }

    @classmethod
    def _from_fitted_state(cls, hyperparameters, network, attributes, optimizer=None):
        """A fitted estimator from what ``_fitted_state`` gave, checked by the caller."""
        est = cls(**hyperparameters)
        for name, value in attributes.items():
            setattr(est, name, value)
        est._set_network(network)
        est._best_params = None  # as a fit leaves them: the network's own
        if optimizer is not None:
            est._optimizer = optimizer
        return est

    # ----- fitting -----

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        for units in layer_units:
            # A size that is not an integer (2.0, 2.5, True, an array) gets numpy's
            # TypeError, the one scikit-learn raises when it draws that layer's
            # weights; never truncated. (The empty shape allocates nothing.)
            np.empty((0, units))
        self._set_network(
            Network(layer_units, self.activation, self.out_activation_, dtype, self._random_state)
        )
        # the best weights of early stopping: a copy, or None while they are the
        # network's own (``_fit_stochastic``)
        self._best_params = self._network.params.copy()
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _checked_X_y(self, X, y, reset, labels):
        """X and y as ``validate_data`` gives them (y numeric unless it holds class
        ``labels``), a y of one column made 1-D with column_or_1d's warning; and whether
        they were a first fit's plain ndarrays, checked directly (``_inputs``)."""
        plain = plain_X_y(self, X, y, labels) if reset else None
        if plain is not None:
            return *plain, True
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=not labels,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, False

    def _loss(self):
        """The loss as the kernels take it (``protocol.Loss``)."""
        code = LOSSES[self.loss]
        # scikit-learn reports squared_error averaged over outputs too, while its
        # gradient is not: the scale applies to the reported value only.
        scale = 1.0 / self.n_outputs_ if code == SQUARED_ERROR else 1.0
        return protocol.loss(code, self.alpha, scale)

    def _fit(self, X, y, sample_weight=None, incremental=False, first_call=None):
        """Fit as scikit-learn does, all or nothing: if the fit raises (bad input, a
        diverged fit, Ctrl-C in lbfgs, a failed print under ``verbose``, ...), the
        model is put back as it was before the call. Ctrl-C stops an sgd or adam fit
        after the epoch that was running, which is kept (``_interrupts``).
        ``first_call``: the classifier's set-up of a first partial_fit, run inside."""
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        saved = _SavedState(self, copy_buffers=not first_pass)
        try:
            if first_call is not None:
                first_call()
            self._fit_all(X, y, sample_weight, incremental, first_pass)
        except BaseException:
            saved.restore(self)
            raise
        return self

    def _fit_all(self, X, y, sample_weight, incremental, first_pass):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)

        check_sparse_structure(X)
        X, y, labels = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        sample_weight = self._weigh_classes(labels, sample_weight, incremental)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        if getattr(self, "loss", None) == "poisson" and y.dtype.kind in "biuf" and (y < 0).any():
            # scikit-learn trains on, to a NaN loss_ (its Poisson deviance is not
            # defined there); refused here before anything changes
            raise ValueError("loss='poisson' needs targets y >= 0; y has negative values.")
        layer_units = [X.shape[1]] + hidden_layer_sizes + [y.shape[1]]
        if not first_pass:
            sizes = self._synced_network().layer_sizes
            if not np.array_equal(sizes, layer_units):
                raise ValueError(
                    f"This fit needs layer sizes {[int(u) for u in layer_units]}"
                    f" (hidden_layer_sizes={self.hidden_layer_sizes!r}, {y.shape[1]}"
                    f" output(s)), but the fitted network has {sizes.tolist()}."
                    " A warm_start fit or partial_fit goes on training the fitted"
                    " network, whose sizes cannot change: fit with warm_start=False"
                    " to start a new one."
                )
            self._writable_state()
        self.n_outputs_ = y.shape[1]
        self._random_state = random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)

        dtype = self._network.dtype
        data = protocol.data(X, dtype)
        sw = np.ones(X.shape[0], dtype) if sample_weight is None else sample_weight.astype(dtype)
        # Ctrl-C held from here (_interrupts): before, it raises and the fit is undone
        with HeldInterrupt() as interrupt:
            with single_blas_thread_off_main(), self._blas_threads(X.shape[0]):
                if self.solver in STOCHASTIC_SOLVERS:
                    args = (data, X.shape[0], y, sw, sample_weight, incremental, interrupt)
                    self._fit_stochastic(*args)
                else:
                    self._fit_lbfgs(data, y, sw, interrupt)

        if not np.isfinite(self._network.params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        loss = getattr(self, "loss_", None)
        if loss is not None and (
            np.isnan(loss) or (self.solver == "lbfgs" and not np.isfinite(loss))
        ):
            # Not in scikit-learn, which keeps such a model with loss_ = nan and
            # a ConvergenceWarning: lbfgs stopped at its initial point on data
            # whose loss overflows (in float32, fastbp's lbfgs works in float32).
            # A fit never ends with a silent NaN here. Stochastic fits keep
            # scikit-learn's behaviour: a NaN loss means NaN weights (refused
            # above) unless early stopping restored the best epoch's weights.
            if self.early_stopping and self.solver in STOCHASTIC_SOLVERS:
                return
            raise ValueError(
                f"Solver produced a non-finite loss ({loss}). The input data may"
                " contain large values and need to be preprocessed."
            )

    def _writable_state(self):
        """Copies of the parameters and the optimizer's buffers where they are
        read-only (a model loaded by ``joblib.load(..., mmap_mode="r")``), so that
        training can go on from them."""
        if not self._network.params.flags.writeable:
            self._network._writable()
            self._set_network(self._network)
        optimizer = getattr(self, "_optimizer", None)
        if optimizer is not None and not optimizer.state.flags.writeable:
            optimizer.state = optimizer.state.copy()

    def _blas_threads(self, n_samples):
        """BLAS's threads for this fit: one when the products of a batch are small
        (``_threads.one_blas_thread``), a minibatch for sgd and adam, for lbfgs the
        full batch in chunks of up to CHUNK_ROWS rows."""
        if self.solver not in STOCHASTIC_SOLVERS:
            batch = CHUNK_ROWS
        else:
            batch = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        return single_blas_thread_if(self._network._one_blas_thread(max(1, min(batch, n_samples))))

    def _weigh_classes(self, labels, sample_weight, incremental):
        """Hook for the classifier's class_weight; regressors keep sample_weight."""
        return sample_weight

    def _kernel_targets(self, y):
        """``y`` (2-D) as the kernels take it: C-ordered, in the parameters' dtype.

        Targets that are not numbers reach this point only for the regressor
        (numpy str, bytes, datetime or structured arrays: scikit-learn's
        validation converts object arrays only). They get the TypeError numpy
        raises in scikit-learn's loss, at the point of the fit it raises it,
        rather than a silent conversion of strings like "1.5".
        """
        dtype = self._network.dtype
        if y.dtype.kind not in "biuf":
            y0, p0 = y[:0], np.ones((0, y.shape[1]), dtype)
            try:  # scikit-learn's loss on no rows: its error, without the work
                if self.loss == "poisson":
                    xlogy(y0, y0 / p0) - y0 + p0
                else:
                    (y0 - p0) ** 2
            except TypeError as exc:
                exc.add_note(
                    f"y has dtype {y.dtype}: {type(self).__name__} needs numeric "
                    "targets; convert them first, e.g. y.astype(float)."
                )
                raise
            raise TypeError(f"y must be numeric, got dtype {y.dtype}.")
        return np.ascontiguousarray(y, dtype=dtype)

    def _fit_lbfgs(self, data, y, sw, interrupt):
        Y = self._kernel_targets(y)
        if sw.sum(dtype=np.float64) == 0:  # negative weights cancelling out
            raise ZeroDivisionError(ZERO_WEIGHTS)
        net, n = self._network, Y.shape[0]
        work = net._training_work(min(n, CHUNK_ROWS))
        targets, loss = protocol.targets(Y, sw), self._loss()
        rows = np.arange(n, dtype=np.int64)
        bar = progress_bar(self.progress, self.max_iter, "iter", type(self).__name__)
        try:
            res, self.n_iter_ = minimize_lbfgs(
                net, data, targets, rows, loss, work, self.max_iter, self.max_fun, self.tol,
                interrupt, bar,
            )  # fmt: skip
        finally:
            bar.close()
        self.loss_ = res.fun
        net.params[:] = res.x

    def _fit_stochastic(self, data, n_samples, y, sw, sample_weight, incremental, interrupt):
        net = self._network
        params = net.params
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = StochasticOptimizer(
                self.solver,
                params.size,
                params.dtype,
                learning_rate_init=self.learning_rate_init,
                learning_rate=self.learning_rate,
                momentum=self.momentum,
                nesterovs_momentum=self.nesterovs_momentum,
                power_t=self.power_t,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        rows = np.arange(n_samples, dtype=np.int64)
        if early_stopping:
            # Split row numbers rather than X: the same draw as scikit-learn's
            # split of the arrays themselves, without copying them. (Imported here,
            # as the estimators' other rarely used parts: see estimators.py.)
            from sklearn.model_selection import train_test_split

            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            train_rows, val_rows = train_test_split(
                rows,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if val_rows.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            val_y = y[val_rows]
            val_sw = None if sample_weight is None else sample_weight[val_rows]
        else:
            train_rows, val_rows, val_y, val_sw = rows, None, None, None

        n_train = train_rows.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_train)
        else:
            if self.batch_size > n_train:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped",
                    stacklevel=4,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_train))
        Y = self._kernel_targets(y)  # after the checks scikit-learn makes before its loss

        loss, targets = self._loss(), protocol.targets(Y, sw)
        work = net._training_work(batch_size)
        optimizer = self._optimizer
        moments = optimizer.moments()
        # Each epoch's row order, train_rows[order]; without a validation split
        # train_rows is arange(n), and the kernel reads ``order`` itself.
        order = np.arange(n_train, dtype=np.int64)
        epoch_rows = order if val_rows is None else np.empty(n_train, dtype=np.int64)
        rows = protocol.epoch_rows(train_rows, order, epoch_rows)
        # (generated kernels never validate: early stopping takes the batched ones,
        # which give the same bits)
        plain_sgd = optimizer.code == SGD and optimizer.momentum == 0 and not early_stopping
        run_epochs = net._epoch_kernel(batch_size, loss.code, plain_sgd, whole=True)
        validation = self._validation(val_rows, val_y, val_sw, Y.shape[1])
        # its RandomState.shuffle, compiled: in the kernel when it has the state
        shuffler = Shuffler(self._random_state) if self.shuffle else None
        in_kernel = shuffler is not None and shuffler.state is not None
        shuffling = protocol.shuffling(*(shuffler.arrays() if in_kernel else _NO_SHUFFLING))
        # the RandomState's lock, held while the kernel draws from it
        drawing = shuffler.lock() if in_kernel else nullcontext()
        # scikit-learn averages each batch's loss with np.average(weights=...): a
        # batch whose weights sum to zero is its ZeroDivisionError. Only weights
        # <= 0 can do that; then each epoch's batch sums are checked, O(n_train).
        check_weights = sample_weight is not None and bool((sample_weight[train_rows] <= 0).any())
        # one epoch per call where Python has something to do after each
        one_by_one = self.verbose or incremental or (self.shuffle and not in_kernel)
        ints = np.array([0, self.t_, self._no_improvement_count, optimizer.t, 0], dtype=np.int64)
        floats = np.array(
            [
                optimizer.learning_rate,
                np.inf if self.best_loss_ is None else self.best_loss_,
                -np.inf if self.best_validation_score_ is None else self.best_validation_score_,
            ]
        )
        best = np.empty(0, dtype=params.dtype)
        if early_stopping:
            best = np.empty_like(params)  # (replaced, never written: _SavedState)
            if self._best_params is not None:
                best[:] = self._best_params
                ints[fits.HAVE_BEST] = 1
        curve = np.empty(1 if one_by_one else min(self.max_iter, EPOCHS_CALL_MAX))
        state = protocol.progress(ints, floats, curve, np.empty_like(curve), best)
        bar = progress_bar(self.progress, self.max_iter, "epoch", type(self).__name__)
        # (fits alike: one network shape and dtype, batch, rows, solver and validation)
        alike = (tuple(net.layer_sizes), net.dtype, batch_size, n_train, optimizer.code,
                 early_stopping, in_kernel)  # fmt: skip
        pace = Pace(curve.shape[0], key=alike)
        event = fits.EPOCHS_DONE
        interrupted = False
        try:
            interrupt.raise_if_held()  # Ctrl-C before the first epoch: nothing done
            self.n_iter_ = 0
            while event == fits.EPOCHS_DONE or event == fits.LR_DIVIDED:
                if self.shuffle and not in_kernel:
                    shuffler(order)
                plan = protocol.plan(
                    min(pace.steps(), self.max_iter - self.n_iter_),
                    self.max_iter,
                    self.tol,
                    self.n_iter_no_change,
                    early_stopping,
                    SCHEDULES[self.learning_rate],
                    self.learning_rate_init,
                    self.power_t,
                    in_kernel,
                    check_weights,
                )
                step = optimizer.step()
                args = (data, targets, rows, net._net, work, loss, moments, step, plan, state)
                start = time.perf_counter()
                with drawing:  # (through Numba's dispatcher: a call of many epochs
                    # has time for its typing, and two signatures per float32 network)
                    event = run_epochs(*args, validation, shuffling)
                pace.took(time.perf_counter() - start, int(ints[fits.N_ITER]) - self.n_iter_)
                self._record(state, bar, early_stopping)
                if event == fits.ZERO_WEIGHTS:
                    raise ZeroDivisionError(ZERO_WEIGHTS)
                if self.verbose and event in _STOPPING:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (
                        f"{what} did not improve more than tol={self.tol:f} for"
                        f" {self.n_iter_no_change} consecutive epochs."
                    )
                    if event == fits.LR_DIVIDED:
                        print(msg + " Setting learning rate to %f" % optimizer.learning_rate)
                    elif event == fits.LR_TOO_SMALL:
                        print(msg + " Learning rate too small. Stopping.")
                    else:
                        print(msg + " Stopping.")
                if event in (fits.STOPPED, fits.LR_TOO_SMALL):
                    break
                # Ctrl-C during the epochs: stop with them recorded, state whole
                if interrupt.take():
                    interrupted = True
                    break
                if incremental:
                    break
                if event == fits.MAX_ITER:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % self.max_iter,
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        finally:
            bar.close()

        if early_stopping:
            # Restore the best weights into the buffer. Like scikit-learn, the
            # model's weights and the "best" ones are then the same storage
            # until a later epoch improves on the best score.
            if ints[fits.HAVE_BEST]:
                params[:] = best
            self._best_params = None
        if interrupted or interrupt.take():  # (a Ctrl-C in the last epoch's stop, too)
            warnings.warn("Training interrupted by user.", stacklevel=4)

    def _record(self, state, bar, early_stopping):
        """The attributes of the epochs the kernel just ran (``fits``; ``state``: its
        ``protocol.Progress``), as scikit-learn keeps them; their verbose lines and the bar."""
        ints, floats = state.ints, state.floats
        done = int(ints[fits.N_ITER]) - self.n_iter_
        losses = state.curve[:done].tolist()
        scores = state.scores[:done].tolist() if early_stopping else [None] * done
        for epoch, (value, score) in enumerate(zip(losses, scores), self.n_iter_ + 1):
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (epoch, value))
                if early_stopping:
                    print("Validation score: %f" % score)
            bar.update(value, score)
        self.loss_curve_ += losses
        if early_stopping:
            self.validation_scores_ += scores
            self.best_validation_score_ = float(floats[fits.BEST_SCORE])
        elif done:
            self.best_loss_ = float(floats[fits.BEST_LOSS])
        if done:
            self.loss_ = losses[-1]
        self.n_iter_ += done
        self.t_ = int(ints[fits.SAMPLES_SEEN])
        self._no_improvement_count = int(ints[fits.NO_IMPROVEMENT])
        self._optimizer.t = int(ints[fits.ADAM_STEPS])
        self._optimizer.learning_rate = float(floats[fits.LEARNING_RATE])

    def _validation(self, rows, y, sample_weight, n_outputs):
        """Early stopping's validation set as the kernels take it (``protocol.Validation``),
        from its rows, their targets as the kernels take them (the classifier's binarized
        labels) and their weights: the score's kind, and its targets in the dtype
        scikit-learn computes the score in."""
        dtype = self._network.dtype
        if rows is None:  # (the types of a validation set scored in float64)
            Y, out = np.empty((0, n_outputs)), np.empty((0, n_outputs), dtype=dtype)
            return protocol.validation(fits.NO_SCORE, _NO_ROWS, Y, None, False, out)
        out = np.empty((rows.shape[0], n_outputs), dtype=dtype)
        rows = rows.astype(np.int64)
        if not is_classifier(self):
            # r2_score's: the floating dtype of y, the predictions and the weights
            floats = [a.dtype for a in (y, out, sample_weight) if a is not None]
            score_dtype = np.result_type(*[t for t in floats if t.kind == "f"])
            Y = np.asarray(y, dtype=score_dtype)
            return protocol.validation(fits.R2, rows, Y, sample_weight, False, out)
        # accuracy_score's: np.average(right, weights) in float64
        cast = sample_weight is not None and sample_weight.dtype == np.float32
        if len(self.classes_) == 1:
            kind, Y = fits.ONE_CLASS, np.zeros((rows.shape[0], 1))
        elif self._label_binarizer.y_type_.startswith("multilabel"):
            kind, Y = fits.MULTILABEL, y.astype(np.float64)
        else:  # the class: the positive one (1) or not (0), or its index
            kind = fits.LABELS
            Y = (y[:, :1] if y.shape[1] == 1 else y.argmax(axis=1)[:, None]).astype(np.float64)
        return protocol.validation(kind, rows, Y, sample_weight, cast, out)

    # ----- prediction -----

    def _outputs(self, data, rows):
        """The output layer for X's rows ``rows`` (``protocol.Data``), (len(rows), n_outputs_)."""
        return self._synced_network()._outputs(data, rows)

    def _forward_pass_fast(self, X, check_input=True):
        if check_input:
            check_sparse_structure(X)
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        rows = np.arange(X.shape[0], dtype=np.int64)
        out = self._outputs(protocol.data(X, self._network.dtype), rows)
        if not np.isfinite(out).all():
            # scikit-learn returns these too, with numpy's "overflow encountered
            # in matmul" RuntimeWarning: never a silent NaN or infinity.
            warnings.warn(
                f"{type(self).__name__}: the forward pass overflowed for"
                f" {int((~np.isfinite(out).all(axis=1)).sum())} of {out.shape[0]} rows of X"
                " (non-finite outputs): their predictions are meaningless. X may"
                " contain large values and need to be preprocessed.",
                RuntimeWarning,
                stacklevel=3,
            )
        return out

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
