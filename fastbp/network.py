"""``fastbp.Network``: the engine, plainly, and the one parameter store.

A Network owns one flat parameter buffer and per-layer views into it, and calls
the compiled kernels (``fastbp._kernels``) on it. The estimators fit a Network
too: this module is the only place that holds parameters, keeps their views,
pickles them, copies read-only ones, predicts, and picks an epoch kernel and the
BLAS threads for it.
"""

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ._checks import (
    as_float_array,
    check_alpha,
    check_dtype,
    check_layer_sizes,
    check_number,
    check_order,
    converted,
)
from ._config import CHUNK_ROWS
from ._kernels import epochs, fits, generated, passes, protocol
from ._kernels.codes import SGD
from ._kernels.layout import coef_view, intercept_view, n_params
from ._tables import (
    HIDDEN_ACTIVATIONS,
    LOSSES,
    OUTPUT_ACTIVATIONS,
    check_pair,
    init_factor,
    lookup,
)
from ._threads import one_blas_thread, single_blas_thread_if, single_blas_thread_off_main


def init_params(sizes, activation, dtype, random_state):
    """scikit-learn's Glorot-uniform initialisation, into one flat buffer.

    For each layer in order: bound = sqrt(factor / (fan_in + fan_out)), weights
    then intercepts drawn uniform(-bound, bound) from ``random_state``.
    """
    rng = check_random_state(random_state)
    params = np.empty(n_params(sizes), dtype=dtype)
    factor = init_factor(activation)
    for l in range(len(sizes) - 1):
        fan_in, fan_out = int(sizes[l]), int(sizes[l + 1])
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef_view(params, sizes, l)[...] = rng.uniform(-bound, bound, (fan_in, fan_out))
        intercept_view(params, sizes, l)[...] = rng.uniform(-bound, bound, fan_out)
    return params


class Views(list):
    """The coefs or the intercepts: views into the parameter buffer, one per layer.
    Assigning an array to an item (``net.coefs[0] = w``), or a list to the whole
    (``Network.coefs``), copies the values into the buffer; a failed assignment
    changes nothing. ``name`` is what error messages call them."""

    def __init__(self, params, sizes, view, name):
        super().__init__(view(params, sizes, i) for i in range(len(sizes) - 1))
        self.params, self.sizes, self.view, self.name = params, sizes, view, name

    def __setitem__(self, i, value):
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"{self.name}[i] = array: i must be an integer, got {i!r}.")
        view = self[i]
        view[...] = converted(value, view.shape, view.dtype, f"{self.name}[{i}]")

    def converted(self, arrays):
        """``arrays``, one per layer, converted to the views' shapes and dtype."""
        arrays = list(arrays)
        if len(arrays) != len(self):
            raise ValueError(f"{self.name} needs {len(self)} arrays, got {len(arrays)}.")
        return [
            converted(a, v.shape, v.dtype, f"{self.name}[{i}]")
            for i, (a, v) in enumerate(zip(arrays, self))
        ]

    def _fixed(self, *args, **kwargs):
        raise TypeError(
            f"{self.name} has one array per layer, fixed: assign to {self.name}[i] or"
            f" to {self.name} instead."
        )

    append = extend = insert = pop = remove = clear = sort = reverse = _fixed
    __delitem__ = __iadd__ = __imul__ = _fixed


class Network:
    """A fully connected network trained by backpropagation.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first and output last, e.g. ``(1, 2, 1)``.
    activation : {"relu", "identity", "logistic", "tanh", "softplus", "leaky_relu"}
        Activation of the hidden layers.
    output_activation : {"identity", "logistic", "softmax", "exp"}
        Activation of the output layer.
    dtype : numpy.float32 or numpy.float64
        Dtype of the parameters and of every computation.
    random_state : None, int or numpy.random.RandomState
        Source of the initial weights (scikit-learn's initialisation).

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        Every weight and bias in one contiguous buffer: all coefs raveled in
        layer order, then all intercepts in layer order.
    coefs : list of ndarray
        ``coefs[i]`` is a (layer_sizes[i], layer_sizes[i + 1]) view into ``params``.
    intercepts : list of ndarray
        ``intercepts[i]`` is a (layer_sizes[i + 1],) view into ``params``.

    Assigning to ``params``, ``coefs``, ``coefs[i]``, ``intercepts`` or
    ``intercepts[i]`` copies the values into the one buffer (same shapes; a
    failed assignment changes nothing). ``layer_sizes``, ``activation``,
    ``output_activation`` and ``dtype`` are read-only: the architecture is fixed
    once built.
    """

    def __init__(
        self,
        layer_sizes,
        activation="relu",
        output_activation="identity",
        dtype=np.float64,
        random_state=None,
    ):
        sizes = check_layer_sizes(layer_sizes)
        hidden = lookup(HIDDEN_ACTIVATIONS, activation, "activation")
        output = lookup(OUTPUT_ACTIVATIONS, output_activation, "output_activation")
        dtype = check_dtype(dtype)
        self._build(sizes, activation, output_activation, hidden, output, dtype)
        self._set_params(init_params(sizes, activation, dtype, random_state))

    def _fitted_state(self):
        """What a model file keeps of a network (fastbp.io), by name."""
        return {
            "layer_sizes": self._layer_sizes.tolist(),
            "activation": self._activation,
            "output_activation": self._output_activation,
            "params": self._params,
        }

    @classmethod
    def _from_fitted_state(cls, layer_sizes, activation, output_activation, params):
        """A network of these sizes and activations holding ``params`` (its own buffer
        from then on), nothing drawn: for model files and old pickles, whose names
        are checked already."""
        net = cls.__new__(cls)
        sizes = np.array(layer_sizes, dtype=np.int64)
        net._build(
            sizes,
            activation,
            output_activation,
            HIDDEN_ACTIVATIONS[activation],
            OUTPUT_ACTIVATIONS[output_activation],
            params.dtype.type,
        )
        net._set_params(params)
        return net

    def _build(self, sizes, activation, output_activation, hidden, output, dtype):
        sizes.flags.writeable = False  # the kernels' offsets follow from it
        self._layer_sizes = sizes
        self._activation, self._output_activation = activation, output_activation
        self._hidden, self._out = hidden, output
        self._dtype = dtype

    # The architecture is fixed once built (the kernels' codes, offsets and buffers
    # follow from it): read-only, for a different one make a new Network.
    layer_sizes = property(lambda self: self._layer_sizes, doc="Units per layer (read-only).")
    activation = property(lambda self: self._activation, doc="Hidden activation (read-only).")
    output_activation = property(
        lambda self: self._output_activation, doc="Output activation (read-only)."
    )
    dtype = property(lambda self: self._dtype, doc="Parameters' dtype (read-only).")

    # ----- the parameter store -----

    def _set_params(self, params):
        """Make ``params`` the storage, with views into it: all in one assignment, so
        that a Ctrl-C cannot leave views of another buffer."""
        coefs, intercepts = self._views("coefs", "intercepts", params)
        net = protocol.net(params, self._hidden, self._out)
        self._params, self._coefs, self._intercepts, self._net = params, coefs, intercepts, net

    def _views(self, coefs_name, intercepts_name, params=None):
        """New lists of views into the buffer (or ``params``), named for error messages
        (the estimators' ``coefs_`` and ``intercepts_``)."""
        params = self._params if params is None else params
        return (
            Views(params, self._layer_sizes, coef_view, coefs_name),
            Views(params, self._layer_sizes, intercept_view, intercepts_name),
        )

    def _assign(self, coefs, intercepts, names=("coefs", "intercepts")):
        """Copy per-layer arrays into the buffer, all at once (a Ctrl-C between layers
        would leave some assigned), after converting and checking all of them."""
        c_views, i_views = self._views(*names)
        new = (c_views.converted(coefs), i_views.converted(intercepts))
        values = self._params.copy()
        for arrays, view in zip(new, (coef_view, intercept_view)):
            for i, a in enumerate(arrays):
                view(values, self._layer_sizes, i)[...] = a
        self._params[...] = values

    def _writable(self):
        """Train on a copy of read-only params (``joblib.load(..., mmap_mode="r")``):
        ``params`` and the views are new arrays then."""
        if not self._params.flags.writeable:
            self._set_params(self._params.copy())

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in ("_coefs", "_intercepts", "_net", "_kept_buffers"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        params = state.pop("_params")
        for name in ("layer_sizes", "activation", "output_activation", "dtype"):
            if name in state:  # pickled before these were read-only properties
                state["_" + name] = state.pop(name)
        state["_layer_sizes"] = np.array(state["_layer_sizes"])  # pickle drops the flag
        state["_layer_sizes"].flags.writeable = False
        self.__dict__.update(state)
        self._set_params(params)

    def _outputs(self, data, rows, work=None, out=None):
        """The output layer for X's rows ``rows`` (``protocol.Data``), (len(rows), n_outputs),
        into ``out``, computed ``work.cap`` rows at a time (by default, new buffers)."""
        n = rows.shape[0]
        if out is None:
            out = np.empty((n, int(self._layer_sizes[-1])), dtype=self._dtype)
        if work is None:
            work = protocol.work(self._layer_sizes, max(1, min(n, CHUNK_ROWS)), self._dtype)
        passes.predict(data, rows, self._readable_net(), work, out)
        return out

    def _loss_gradient(self, data, targets, rows, loss, work, params=None):
        """Full-batch loss, the gradient left in ``work.grad`` (``passes.loss_gradient``),
        at ``params`` (by default the network's)."""
        net = self._readable_net() if params is None else self._net._replace(params=params)
        return passes.loss_gradient(data, targets, rows, net, work, loss)

    def _readable_net(self):
        """``_net``, or for read-only params (a memory map) a copy: one compiled kernel
        per dtype serves them, typed for the writable params training needs."""
        if self._params.flags.writeable:
            return self._net
        return protocol.net(self._params.copy(), self._hidden, self._out)

    def _epoch_kernel(self, batch_size, loss_code, plain_sgd, whole=False):
        """The kernel that trains this network in batches of ``batch_size`` rows, with
        this loss code; ``plain_sgd``: by SGD without momentum. One epoch, or with
        ``whole`` the kernel of whole fits, that runs many (``fits``).

        ``epochs.run_epoch`` (``fits.run_epochs``), or for plain SGD on batches of one
        row over a tiny network (``generated.eligible``), a kernel generated for its
        architecture (and its own ``run_epochs``).
        """
        sizes = self._layer_sizes
        if plain_sgd and batch_size == 1 and generated.eligible(sizes):
            key = (tuple(int(s) for s in sizes), int(self._hidden), int(self._out), int(loss_code))
            try:
                return generated.kernel(*key, whole=whole)
            except OSError as exc:  # nowhere to write it: the kernel it stands in for
                warnings.warn(
                    f"fastbp: no generated kernel ({exc}); training with the batched one.",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return fits.run_epochs if whole else epochs.run_epoch

    def _one_blas_thread(self, batch_size):
        """Whether training in batches of ``batch_size`` takes one BLAS thread (``_threads``)."""
        return one_blas_thread(self._layer_sizes, batch_size)

    def __repr__(self):
        return (
            f"Network({self.layer_sizes.tolist()}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, "
            f"dtype={np.dtype(self.dtype).name})"
        )

    # ----- the public API: checked inputs, then the store's kernels -----

    @property
    def params(self):
        return self._params

    @params.setter
    def params(self, value):
        # Keep the one buffer: `net.params -= lr * grad` and `net.params = p`
        # both write into it, so the coefs/intercepts views stay valid.
        if value is self._params:
            return
        self._params[...] = converted(value, self._params.shape, self.dtype, "params")

    @property
    def coefs(self):
        return self._coefs

    @coefs.setter
    def coefs(self, arrays):
        self._assign(arrays, self._intercepts)

    @property
    def intercepts(self):
        return self._intercepts

    @intercepts.setter
    def intercepts(self, arrays):
        self._assign(self._coefs, arrays)

    def _check_X(self, X):
        X = as_float_array(X, "X", self.dtype, 2)
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the network expects {self.layer_sizes[0]}."
            )
        return X

    def _check_params(self):
        # params is the user's to write (``net.params -= lr * grad``): a NaN or an
        # infinity there would only come back as NaN outputs.
        if not np.isfinite(self._params).all():
            raise ValueError(
                "params contain NaN or infinity: the network has diverged or was set "
                "from non-finite values."
            )

    def _check_finite(self, what, X, *arrays):
        """A FloatingPointError unless every array is finite: the computation
        overflowed (finite inputs and params too large for the dtype)."""
        if all(np.isfinite(a).all() for a in arrays):
            return
        raise FloatingPointError(
            f"{what} overflowed to a non-finite value in {np.dtype(self.dtype).name}: "
            f"X (largest |x| {np.abs(X).max():.3g}) or params (largest |w| "
            f"{np.abs(self._params).max():.3g}) are too large. Scale them down."
        )

    def forward(self, X):
        """Outputs of the network for the rows of X, shape (n_samples, layer_sizes[-1]).

        Raises a ValueError for malformed X or non-finite params, and a
        FloatingPointError if the outputs overflow (never returns NaN or infinity).
        """
        X = self._check_X(X)
        n = X.shape[0]
        if n == 0:
            raise ValueError("X has 0 samples; forward needs at least one.")
        self._check_params()
        out = self._outputs(protocol.data(X, self.dtype), np.arange(n, dtype=np.int64))
        self._check_finite("The forward pass", X, out)
        return out

    def _check_training_data(self, X, y, loss, sample_weight, alpha):
        """(loss code, X, Y (n, n_outputs), sample weights, alpha), checked; or a ValueError."""
        code = lookup(LOSSES, loss, "loss")
        check_pair(loss, self.output_activation)
        X = self._check_X(X)
        n = X.shape[0]
        if n == 0:
            raise ValueError("X has 0 samples; the loss needs at least one.")
        if y is None:
            raise ValueError("y is None; training needs targets.")
        Y = np.ascontiguousarray(as_float_array(y, "y", self.dtype, (1, 2)))
        n_out = self.layer_sizes[-1]
        if Y.ndim == 1 and n_out == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape != (n, n_out):
            raise ValueError(f"y must have shape ({n}, {n_out}), got {Y.shape}.")
        if sample_weight is None:
            sw = np.ones(n, dtype=self.dtype)
        else:
            sw = np.ascontiguousarray(as_float_array(sample_weight, "sample_weight", self.dtype, 1))
            if sw.shape != (n,):
                raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}.")
            if (sw < 0).any() or sw.sum() <= 0:
                raise ValueError("sample_weight must be >= 0 with a positive sum.")
        alpha = check_alpha(alpha)
        if loss == "poisson" and (Y < 0).any():
            raise ValueError("poisson loss needs y >= 0.")
        if loss == "log_loss" and ((Y < 0) | (Y > 1)).any():
            raise ValueError("log_loss needs targets in [0, 1] (probabilities or 0/1 labels).")
        self._check_params()
        return code, X, Y, sw, alpha

    def loss_gradient(self, X, y, loss="squared_error", sample_weight=None, alpha=0.0):
        """Loss and its gradient with respect to ``params``.

        Parameters
        ----------
        X : array-like of shape (n_samples, layer_sizes[0])
        y : array-like of shape (n_samples, layer_sizes[-1]) or (n_samples,)
            when the network has one output.
        loss : {"squared_error", "log_loss", "poisson"}
        sample_weight : array-like of shape (n_samples,), optional
        alpha : float, L2 penalty: adds 1/2 alpha sum |W|^2 / S to the loss.

        Returns
        -------
        loss : float
            (1/S) sum_i s_i l(y_i, p_i) + 1/2 alpha sum |W|^2 / S, S = sum_i s_i.
        grad : ndarray laid out exactly like ``params``.

        Raises a ValueError for malformed input or non-finite params, and a
        FloatingPointError if the loss or the gradient overflows.
        """
        code, X, Y, sw, alpha = self._check_training_data(X, y, loss, sample_weight, alpha)
        n = X.shape[0]
        work = protocol.work(self.layer_sizes, min(n, CHUNK_ROWS), self.dtype)
        value = self._loss_gradient(
            protocol.data(X, self.dtype),
            protocol.targets(Y, sw),
            np.arange(n, dtype=np.int64),
            protocol.loss(code, alpha),
            work,
        )
        self._check_finite("The loss or its gradient", X, np.array([value]), work.grad)
        return float(value), work.grad

    def train_epoch(
        self,
        X,
        y,
        batch_size=32,
        learning_rate=0.01,
        order=None,
        loss="squared_error",
        sample_weight=None,
        alpha=0.0,
        check_input=True,
    ):
        """One epoch of plain minibatch SGD over the rows of X, in compiled code.

        The rows X[order] (all rows in their order by default) are cut into
        consecutive batches of ``batch_size`` (the last one may be shorter), and
        after each batch ``params -= learning_rate * grad``, with the loss and
        gradient ``loss_gradient`` gives on that batch. To shuffle, pass a new
        ``order`` each epoch, e.g. ``rng.permutation(len(X))``.

        Returns the epoch's training loss: the batches' ``loss_gradient`` losses
        averaged with their numbers of rows (scikit-learn's ``loss_curve_`` entry
        for a network of one output; its squared_error is divided by the number of
        outputs).

        Raises a ValueError for malformed input (the checks of ``loss_gradient``;
        ``order`` must hold row numbers of X; every batch's sample weights must
        have a positive sum), and a FloatingPointError if training diverges to
        non-finite values, in which case ``params`` are left as they were. So are
        they when Ctrl-C interrupts the call: the compiled epoch runs to its end,
        then it is undone and KeyboardInterrupt raised.
        Read-only params (a network loaded by ``joblib.load(..., mmap_mode="r")``)
        are copied first: ``params``, ``coefs`` and ``intercepts`` are then new arrays.

        ``check_input=False`` (as in scikit-learn, for callers that checked their
        data once and call this for many epochs) skips the checks of the values
        of X, y and sample_weight (NaN, infinity, negative weights, targets the
        loss cannot take); they must then be C-contiguous arrays of the network's
        dtype and shapes, which is checked, and so is ``order``.
        """
        if check_input:
            code, X, Y, sw, alpha = self._check_training_data(X, y, loss, sample_weight, alpha)
        else:
            code, X, Y, sw, alpha = self._trusted_training_data(X, y, loss, sample_weight, alpha)
        n = X.shape[0]
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
        learning_rate = check_number(learning_rate, "learning_rate", positive=True)
        rows = np.arange(n, dtype=np.int64) if order is None else check_order(order, n)
        if rows.shape[0] == 0:
            raise ValueError("order is empty; an epoch needs at least one row.")
        cap = int(min(batch_size, rows.shape[0]))
        if sample_weight is not None:
            sums = np.add.reduceat(sw[rows], np.arange(0, rows.shape[0], cap))
            if not (sums > 0).all():
                raise ValueError(
                    "a batch's sample weights sum to 0; every batch needs a positive sum."
                )
        epoch, work, one_thread, moments = self._train_buffers(cap, code)
        before = self._params.copy()
        self._writable()
        try:
            # BLAS's threads as the estimators use them (_threads.py)
            with single_blas_thread_off_main(), single_blas_thread_if(one_thread):
                total, _ = self._call(
                    epoch,
                    protocol.dense(X),  # (of the network's dtype: checked)
                    protocol.targets(Y, sw),
                    rows,
                    self._net,
                    work,
                    protocol.Loss(code, alpha, 1.0),  # (an int and floats: checked above)
                    moments,
                    protocol.Step(SGD, learning_rate, 0.0, False, 0.9, 0.999, 1e-8, 0),
                )
            value = float(total / rows.shape[0])
            if not (math.isfinite(value) and np.isfinite(self._params).all()):
                raise FloatingPointError(
                    f"Training diverged to non-finite values in {np.dtype(self.dtype).name}; "
                    "params are left as they were before this epoch. Lower learning_rate or "
                    "scale X down."
                )
            return value
        except BaseException:
            # a call that raises is undone: a divergence, or Ctrl-C, which lands once
            # the kernel has returned
            self._params[...] = before
            raise

    def _trusted_training_data(self, X, y, loss, sample_weight, alpha):
        """``_check_training_data`` for check_input=False: the arrays as they are, once
        their type, dtype, shape and memory layout are what the kernels read."""
        code = lookup(LOSSES, loss, "loss")
        check_pair(loss, self.output_activation)
        n_out = self.layer_sizes[-1]
        one_d = isinstance(y, np.ndarray) and y.ndim == 1 and n_out == 1
        Y = y.reshape(-1, 1) if one_d else y
        n = X.shape[0] if isinstance(X, np.ndarray) and X.ndim == 2 else None
        if n == 0:
            raise ValueError("X has 0 samples; the loss needs at least one.")
        rows = "n_samples" if n is None else n
        wanted = [("X", X, (rows, int(self.layer_sizes[0]))), ("y", Y, (rows, int(n_out)))]
        if sample_weight is not None:
            wanted.append(("sample_weight", sample_weight, (rows,)))
        for name, a, shape in wanted:
            ok = isinstance(a, np.ndarray) and a.dtype == self.dtype and a.shape == shape
            if n is None or not (ok and a.flags.c_contiguous):
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(
                    f"With check_input=False, {name} must be a C-contiguous "
                    f"{np.dtype(self.dtype).name} array of shape {shape}, got {got}."
                )
        sw = np.ones(n, dtype=self.dtype) if sample_weight is None else sample_weight
        return code, X, Y, sw, check_alpha(alpha)

    def _train_buffers(self, cap, loss):
        """train_epoch's kernel, work buffers, BLAS thread rule and optimizer buffers
        (none: with momentum 0 the SGD step never touches them) for batches of ``cap``
        rows and the ``loss`` code."""
        kept = self.__dict__.get("_kept_buffers", {}).get(("train_epoch", cap, loss))
        if kept is not None:  # (what follows: ~1 us, a few percent of a small epoch)
            return kept
        make = lambda: (  # noqa: E731
            self._epoch_kernel(cap, loss, True),
            self._training_work(cap),
            self._one_blas_thread(cap),
            protocol.moments(np.empty((1, 0), dtype=self._dtype)),
        )
        return self._kept(("train_epoch", cap, loss), make)

    def _training_work(self, cap):
        """Work buffers for training in batches of ``cap`` rows, kept (``_kept``). Not for
        predictions, which may run in several threads at once on one model."""
        return self._kept(("work", cap), lambda: protocol.work(self._layer_sizes, cap, self._dtype))

    def _call(self, kernel, *args):
        """``kernel(*args)``, through its entry point once it is compiled for this
        network (``protocol.entry_point``): the estimators' and ``train_epoch``'s epochs,
        whose arguments the protocol's builders make, with one type per field."""
        key = ("entry point", kernel, self._dtype)
        kept = self.__dict__.setdefault("_kept_buffers", {})
        entry = kept.get(key)
        if entry is None:
            result = kernel(*args)  # compiled, or loaded from the cache, now
            kept[key] = protocol.entry_point(kernel, args)
            return result
        return entry(*args)

    def _kept(self, key, make):
        """``make()``, made once per ``key`` and kept with the network (not pickled).
        Buffers made anew on every call cost more than a small network's epoch, and
        on a large one the pages of fresh memory cost more than the work of a short
        ``partial_fit`` (DESIGN.md)."""
        kept = self.__dict__.setdefault("_kept_buffers", {})
        if key not in kept:
            if len(kept) >= 16:  # (batch sizes that keep changing)
                kept.clear()
            kept[key] = make()
        return kept[key]
