"""``fastbp.Network``: the engine, plainly.

A Network owns one flat parameter buffer and exposes per-layer views into it.
Its methods validate their inputs, allocate the work buffers and call the
compiled kernels in ``fastbp._engine``.
"""

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from . import _engine
from ._config import CHUNK_ROWS
from ._data import kernel_data
from ._layout import Buffers, coef_view, intercept_view, layer_table, n_params, work_buffers
from ._tables import (
    HIDDEN_ACTIVATIONS,
    LOSSES,
    OUTPUT_ACTIVATIONS,
    SGD,
    check_pair,
    init_factor,
    lookup,
)
from ._threads import one_blas_thread, single_blas_thread_if, single_blas_thread_off_main

DTYPES = (np.float32, np.float64)


def check_layer_sizes(layer_sizes):
    """Return ``layer_sizes`` as an int64 array, or raise a ValueError."""
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise ValueError(
            f"layer_sizes must be a sequence of positive integers, got {layer_sizes!r}."
        ) from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs an input and an output size, got {layer_sizes!r}.")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, Integral) or s < 1:
            raise ValueError(f"Every layer size must be an integer >= 1, got {sizes}.")
    return np.asarray(sizes, dtype=np.int64)


def check_dtype(dtype):
    """Return ``dtype`` as numpy.float32 or numpy.float64, or raise a ValueError."""
    try:
        dt = np.dtype(dtype).type
    except TypeError:
        dt = None
    if dt not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}.")
    return dt


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


def as_float_array(a, name, dtype, ndim):
    """``a`` as a finite array of ``dtype`` with ``ndim`` dimensions, an int or a tuple
    of the allowed ones (never a view we write).

    Raises a ValueError naming the problem: None, sparse, complex or non-numeric
    data, missing values, NaN or infinity, values too large for ``dtype``, or
    the wrong number of dimensions.
    """
    if a is None:
        raise ValueError(f"{name} is None; expected a numeric array-like.")
    if sp.issparse(a):
        raise ValueError(
            f"{name} is a sparse matrix; Network takes dense data. Use {name}.toarray()."
        )
    if hasattr(a, "to_numpy"):  # pandas: missing values (pd.NA) become NaN, refused below
        dtypes = list(a.dtypes) if getattr(a, "ndim", 1) == 2 else [a.dtype]
        dates = [str(d) for d in dtypes if getattr(d, "kind", "O") in "mM"]
        if dates:  # to_numpy would turn them into nanoseconds
            raise ValueError(f"{name} must be numeric, got columns of dtype {dates[0]}.")
        try:
            a = a.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from None
    try:
        raw = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if raw.dtype.kind == "c":
        raise ValueError(f"{name} is complex; Network takes real numbers.")
    if raw.dtype.kind in "MmV":  # datetimes, timedeltas, structured records
        raise ValueError(f"{name} must be numeric, got dtype {raw.dtype}.")
    if raw.dtype.kind not in "biuf":
        try:
            raw = raw.astype(np.float64)
        except OverflowError:  # Python ints beyond float64, in an object array
            raise ValueError(
                f"{name} contains a value too large for float64 (largest "
                f"{np.finfo(np.float64).max:.4g})."
            ) from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from None
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if raw.ndim not in allowed:
        dims = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {dims}, got an array of shape {raw.shape}.")
    if raw.dtype.kind == "f" and not np.isfinite(raw).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    with np.errstate(over="ignore"):
        arr = raw.astype(dtype, copy=False)
    narrowed = raw.dtype.kind == "f" and raw.dtype.itemsize > arr.dtype.itemsize
    if narrowed and not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains a value too large for {np.dtype(dtype).name} "
            f"(largest {np.finfo(dtype).max:.4g})."
        )
    return arr


def check_number(value, name, positive=False):
    """``value`` as a float, or a ValueError unless it is a finite real number >= 0
    (> 0 if ``positive``); booleans are not numbers here."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    ok = isinstance(value, Real) and not isinstance(value, (bool, np.bool_))
    try:
        number = float(value) if ok else None
    except OverflowError:  # a Python int beyond float64
        number = None
    if number is None or not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return number


def check_alpha(alpha):
    """``alpha`` as a float, or a ValueError unless it is a finite real number >= 0."""
    return check_number(alpha, "alpha")


def converted(value, shape, dtype, name):
    """``value`` as a new array of ``shape`` and ``dtype`` (what numpy converts to
    real numbers), or a ValueError: converted before anything is written, so a
    failed assignment leaves the parameters as they were."""
    if np.iscomplexobj(value):
        raise ValueError(f"{name} must be real numbers, got complex values.")
    try:
        new = np.array(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"{name} must be numbers convertible to {np.dtype(dtype).name}: {exc}"
        raise ValueError(msg) from None
    if new.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {new.shape}.")
    return new


class _Views(list):
    """``Network.coefs`` or ``Network.intercepts``: views into ``params``. Assigning an
    array to an item (``net.coefs[0] = w``), or a list to the attribute, copies the
    values into ``params``; a failed assignment changes nothing."""

    def __init__(self, params, sizes, view, name):
        super().__init__(view(params, sizes, i) for i in range(len(sizes) - 1))
        self.params, self.sizes, self.view, self.name = params, sizes, view, name

    def __setitem__(self, i, value):
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"{self.name}[i] = array: i must be an integer, got {i!r}.")
        view = self[i]
        view[...] = converted(value, view.shape, view.dtype, f"{self.name}[{i}]")

    def assign(self, arrays):
        arrays = list(arrays)
        if len(arrays) != len(self):
            raise ValueError(f"{self.name} needs {len(self)} arrays, got {len(arrays)}.")
        new = [converted(a, v.shape, v.dtype, f"{self.name}[{i}]")
               for i, (a, v) in enumerate(zip(arrays, self))]  # fmt: skip
        # all layers in one copy: a Ctrl-C between layers would leave some assigned
        values = self.params.copy()
        for i, a in enumerate(new):
            self.view(values, self.sizes, i)[...] = a
        self.params[...] = values

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
        sizes.flags.writeable = False  # the kernels' offsets follow from it
        self._layer_sizes = sizes
        self._hidden = lookup(HIDDEN_ACTIVATIONS, activation, "activation")
        self._out = lookup(OUTPUT_ACTIVATIONS, output_activation, "output_activation")
        self._activation = activation
        self._output_activation = output_activation
        self._dtype = check_dtype(dtype)
        self._set_params(init_params(sizes, activation, self._dtype, random_state))

    # The architecture is fixed once built (the kernels' codes, offsets and buffers
    # follow from it): read-only, for a different one make a new Network.
    layer_sizes = property(lambda self: self._layer_sizes, doc="Units per layer (read-only).")
    activation = property(lambda self: self._activation, doc="Hidden activation (read-only).")
    output_activation = property(
        lambda self: self._output_activation, doc="Output activation (read-only)."
    )
    dtype = property(lambda self: self._dtype, doc="Parameters' dtype (read-only).")

    def _set_params(self, params):
        self._params = params
        self._coefs = _Views(params, self.layer_sizes, coef_view, "coefs")
        self._intercepts = _Views(params, self.layer_sizes, intercept_view, "intercepts")

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_coefs"], state["_intercepts"]
        state.pop("_epoch_buffers", None)  # work buffers of train_epoch, remade on demand
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

    def __repr__(self):
        return (
            f"Network({self.layer_sizes.tolist()}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}, "
            f"dtype={np.dtype(self.dtype).name})"
        )

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
        self._coefs.assign(arrays)

    @property
    def intercepts(self):
        return self._intercepts

    @intercepts.setter
    def intercepts(self, arrays):
        self._intercepts.assign(arrays)

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
        out = np.empty((n, self.layer_sizes[-1]), dtype=self.dtype)
        cap = max(1, min(n, CHUNK_ROWS))
        acts, _ = work_buffers(self.layer_sizes, cap, self.dtype)
        _engine.predict(
            kernel_data(X, self.dtype), np.arange(n, dtype=np.int64), self.params,
            layer_table(self.layer_sizes, cap), cap, self._hidden, self._out, acts, out,
        )  # fmt: skip
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
        buf = Buffers(self.layer_sizes, self.dtype, min(n, CHUNK_ROWS), self.params.size)
        value = _engine.loss_gradient(
            kernel_data(X, self.dtype), Y, sw, np.arange(n, dtype=np.int64), self.params,
            buf.table, buf.cap, self._hidden, self._out, code, float(alpha), 1.0, buf.acts,
            buf.deltas, buf.grad, buf.tmp,
        )  # fmt: skip
        self._check_finite("The loss or its gradient", X, np.array([value]), buf.grad)
        return float(value), buf.grad

    def train_epoch(self, X, y, batch_size=32, learning_rate=0.01, order=None,
                    loss="squared_error", sample_weight=None, alpha=0.0,
                    check_input=True):  # fmt: skip
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
        dtype and shapes, which is checked, and so is ``order``. On the seed
        network (1-2-1, 1,000 rows, float64, batches of one row) a call took ~70 us,
        ~59 us with it, of which the epoch itself is ~43 us (timeit, 2-core Xeon).
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
        epoch, buf, one_thread = self._train_buffers(cap, code)
        velocity = buf.grad[:0]  # with momentum 0 (below) the SGD step never touches it
        before = self.params.copy()
        if not self._params.flags.writeable:  # e.g. joblib.load(..., mmap_mode="r")
            self._set_params(before.copy())  # trains on a copy: new params and views
        try:
            # BLAS's threads as the estimators use them (_threads.py)
            with single_blas_thread_off_main(), single_blas_thread_if(one_thread):
                total, _ = epoch(
                    kernel_data(X, self.dtype), Y, sw, rows, self.params, buf.table, buf.acts,
                    buf.deltas, buf.grad, buf.tmp, velocity, velocity, rows.shape[0], cap,
                    self._hidden, self._out, code, alpha, 1.0, SGD, learning_rate, 0.0, False,
                    0.9, 0.999, 1e-8, 0,
                )  # fmt: skip
            value = total / rows.shape[0]
            finite = math.isfinite(value) and np.isfinite(self.params).all()
        except BaseException:
            # Ctrl-C lands once the kernel has returned: a call that raises is undone
            self.params[...] = before
            raise
        if not finite:
            self.params[...] = before
            raise FloatingPointError(
                f"Training diverged to non-finite values in {np.dtype(self.dtype).name}; "
                "params are left as they were before this epoch. Lower learning_rate or "
                "scale X down."
            )
        return float(value)

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
        """train_epoch's kernel, work buffers and BLAS thread rule for batches of
        ``cap`` rows and the ``loss`` code, kept between calls (making them anew cost
        more than a seed-network epoch)."""
        kept = getattr(self, "_epoch_buffers", None)
        if kept is None or kept[1].cap != cap or kept[3] != loss:
            buf = Buffers(self.layer_sizes, self.dtype, cap, self.params.size)
            epoch = _engine.epoch_kernel(self.layer_sizes, cap, self._hidden, self._out, loss, True)
            one_thread = one_blas_thread(self.layer_sizes, cap)
            kept = self._epoch_buffers = (epoch, buf, one_thread, loss)
        return kept[:3]


def check_order(order, n):
    """``order`` as an int64 array of row numbers in [0, n), or a ValueError."""
    try:
        rows = np.asarray(order)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"order must be an array of row numbers: {exc}") from None
    if rows.ndim != 1 or not (
        rows.dtype.kind in "iu" or (rows.size == 0 and rows.dtype.kind == "f")
    ):
        raise ValueError(
            f"order must be a 1-D array of integers, got {rows.dtype} of shape {rows.shape}."
        )
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"order holds row numbers outside [0, {n}).")
    return rows.astype(np.int64)
