"""Checks of what users hand ``fastbp.Network``: each returns the value as the kernels
take it, or raises a ValueError that says what is wrong."""

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

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
