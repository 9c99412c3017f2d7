"""Safe model files: ``fastbp.save`` and ``fastbp.load``.

A model file is one NumPy ``.npz`` archive (a zip of ``.npy`` members,
deflate-compressed) holding plain numeric arrays and one array of UTF-8 JSON
text. Nothing in it is pickled, and ``load`` reads it with
``numpy.load(..., allow_pickle=False)``, so opening a model file from someone
else cannot run code; ``load`` then checks every field before it builds a model.

Arrays (format version 1):

``metadata``
    uint8, shape (n_bytes,): the UTF-8 bytes of the JSON object below.
``params``
    float32 or float64, shape (n_params,): every weight and bias in fastbp's
    flat layout (all coefs raveled in C order, layer by layer, then all
    intercepts, layer by layer; see ``fastbp._layout``).
``classes``
    MLPClassifier only, when its ``classes_`` are booleans, numbers or strings
    (otherwise they are JSON values, see below).
``optimizer_state``
    sgd / adam estimators only (optional): the velocity (shape (1, n_params))
    or Adam's moments (shape (2, n_params)), so ``partial_fit`` goes on exactly.
``random_state_keys``
    uint32, shape (624,): when the ``random_state`` hyperparameter is a
    numpy RandomState, its Mersenne Twister keys.

JSON fields, every kind:

- ``format`` ("fastbp-model"), ``format_version`` (1), ``fastbp_version``,
- ``kind``: "Network", "MLPRegressor" or "MLPClassifier",
- ``layer_sizes`` (input first, output last), ``dtype`` ("float32" or "float64"),
- ``activation`` (hidden layers), ``output_activation``.

Estimators also have:

- ``loss``,
- ``hyperparameters``: ``get_params()``,
- ``attributes``: ``n_features_in_``, ``feature_names_in_``, ``n_outputs_``,
  ``n_layers_``, ``out_activation_``, ``n_iter_``, ``t_``, ``loss_``,
  ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
  ``best_validation_score_``, ``_no_improvement_count`` (those the model has),
- ``optimizer`` (optional, with ``optimizer_state``): the scalars of the
  stochastic optimizer (learning rate, step count ``t``, ...).

MLPClassifier also has ``label_binarizer``: ``classes_`` ("array" when they are
in the ``classes`` array, else the list of values), ``y_type_``,
``sparse_input_``, ``neg_label``, ``pos_label``, ``sparse_output``.

Values JSON cannot hold are one-key objects: ``{"float": "inf"}`` (also
"-inf", "nan"), ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"ndarray": [...], "dtype": "int64"}`` and ``{"RandomState": {"pos": ...,
"has_gauss": ..., "cached_gaussian": ...}}``. The JSON itself is strict: no
NaN or Infinity literals, no repeated keys.
"""

import io
import json
import math
import os
import struct
import warnings
import zipfile
import zlib
from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import STOCHASTIC_SOLVERS
from ._files import is_partial, replace_file
from ._layout import n_params
from ._solvers import StochasticOptimizer
from ._tables import HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS, SOLVERS, check_pair
from .estimators import MLPClassifier, MLPRegressor, label_binarizer
from .network import Network

__all__ = ["save", "load"]

FORMAT = "fastbp-model"
FORMAT_VERSION = 1
KINDS = {"Network": Network, "MLPRegressor": MLPRegressor, "MLPClassifier": MLPClassifier}

# Largest metadata member ``load`` decompresses; the other members must have
# the size their shape implies (plus this much header room) before they are read.
MAX_METADATA_BYTES = 64 << 20
MAX_CLASSES_BYTES = 64 << 20
NPY_HEADER_ROOM = 1 << 16
MAX_JSON_DEPTH = 32

# What reading a damaged or foreign file can raise, from zipfile, zlib, numpy's
# npy parser (ValueError with allow_pickle=False on object arrays) and json.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,  # a zip member with an unsupported compression method
    RuntimeError,  # an encrypted zip member; RecursionError on absurdly nested JSON
    OverflowError,
    TypeError,
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip
_NPY_MAGIC = b"\x93NUMPY"
_ATTR_COMMON = ("layer_sizes", "dtype", "activation", "output_activation")
_HEADER = ("format", "format_version", "fastbp_version", "kind")
_LB_FIELDS = ("classes_", "y_type_", "sparse_input_", "neg_label", "pos_label", "sparse_output")
# Dtypes of the 1-D arrays a hyperparameter may be (e.g. hidden_layer_sizes).
_ARRAY_DTYPES = {"bool", "float16", "float32", "float64"}
_ARRAY_DTYPES |= {f"{u}int{b}" for u in ("", "u") for b in (8, 16, 32, 64)}
_Y_TYPES = ("binary", "multiclass", "multilabel-indicator")


# ----------------------------------------------------------------- checks ----


def _fail(msg):
    raise ValueError(msg)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int(v, name, low=0):
    if not _is_int(v) or (low is not None and v < low):
        _fail(f"{name} must be an integer{'' if low is None else f' >= {low}'}, got {v!r:.40}.")
    return v


def _object(d, name):
    if not isinstance(d, dict):
        _fail(f"{name} must be a JSON object, got {type(d).__name__}.")
    return d


def _str(v, name):
    if not isinstance(v, str):
        _fail(f"{name} must be a string, got {v!r}.")
    return v


def _bool(v, name):
    if not isinstance(v, bool):
        _fail(f"{name} must be true or false, got {v!r}.")
    return v


def _float(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        _fail(f"{name} must be a number, got {v!r}.")
    return float(v)


def _float_or_none(v, name):
    return None if v is None else _float(v, name)


def _float_list(v, name):
    if not isinstance(v, list):
        _fail(f"{name} must be a list of numbers, got {type(v).__name__}.")
    return [_float(x, f"{name}[{i}]") for i, x in enumerate(v)]


def _float_list_or_none(v, name):
    return None if v is None else _float_list(v, name)


def _str_list(v, name):
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        _fail(f"{name} must be a list of strings.")
    return np.asarray(v, dtype=object)


def _keys(d, name, required, optional=()):
    """Raise unless dict ``d`` has every required key and no key outside both lists."""
    if not isinstance(d, dict):
        _fail(f"{name} must be a JSON object, got {type(d).__name__}.")
    missing = [k for k in required if k not in d]
    if missing:
        _fail(f"{name} is missing {', '.join(map(repr, missing))}.")
    unknown = sorted(set(d) - set(required) - set(optional))
    if unknown:
        _fail(f"{name} has unexpected field(s) {', '.join(map(repr, unknown))}.")
    return d


# The fitted attributes of an estimator kept in the file: name -> (required, check).
_ATTRIBUTES = {
    "n_features_in_": (True, lambda v, n: _int(v, n, 1)),
    "feature_names_in_": (False, _str_list),
    "n_outputs_": (True, lambda v, n: _int(v, n, 1)),
    "n_layers_": (True, lambda v, n: _int(v, n, 2)),
    "out_activation_": (True, _str),
    "n_iter_": (True, _int),
    "t_": (True, _int),
    "loss_": (False, _float),
    "loss_curve_": (False, _float_list),
    "best_loss_": (False, _float_or_none),
    "validation_scores_": (False, _float_list_or_none),
    "best_validation_score_": (False, _float_or_none),
    "_no_improvement_count": (False, _int),
}


# ------------------------------------------------------- values <-> JSON ----


def _encode(value, name, arrays):
    """``value`` as JSON data; see the module docstring for the tagged forms."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        value = float(value)
        if math.isfinite(value):
            return value
        return {"float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, name, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name, arrays) for v in value]
    if isinstance(value, dict):
        return {
            "dict": [[_encode(k, name, arrays), _encode(v, name, arrays)] for k, v in value.items()]
        }
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.name in _ARRAY_DTYPES:
        return {
            "ndarray": [_encode(v, name, arrays) for v in value.tolist()],
            "dtype": value.dtype.name,
        }
    if isinstance(value, np.random.RandomState) and name == "random_state":
        kind, keys, pos, has_gauss, cached = value.get_state()
        if kind != "MT19937" or "random_state_keys" in arrays:
            _fail(f"cannot store {name}={value!r}")
        arrays["random_state_keys"] = np.asarray(keys, dtype=np.uint32)
        state = {"pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
        return {"RandomState": state}
    raise ValueError(
        f"cannot store {name}={value!r} in a model file: only None, booleans, numbers, "
        "strings, tuples, lists, dicts, 1-D numeric arrays and a RandomState are supported."
    )


def _decode(data, name, arrays, depth=0):
    """The value encoded by ``_encode``; raises a ValueError on anything else."""
    if depth > MAX_JSON_DEPTH:
        _fail(f"{name} is nested too deeply.")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(v, name, arrays, depth + 1) for v in data]
    if not isinstance(data, dict):  # pragma: no cover - json gives nothing else
        _fail(f"{name} holds an unexpected {type(data).__name__}.")
    tag = next(iter(data), None)
    if tag == "float" and len(data) == 1:
        special = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
        if not isinstance(data[tag], str) or data[tag] not in special:
            _fail(f"{name}: {data!r} is not a float.")
        return special[data[tag]]
    if tag == "tuple" and len(data) == 1 and isinstance(data[tag], list):
        return tuple(_decode(v, name, arrays, depth + 1) for v in data[tag])
    if tag == "dict" and len(data) == 1 and isinstance(data[tag], list):
        out = {}
        for pair in data[tag]:
            if not (isinstance(pair, list) and len(pair) == 2):
                _fail(f"{name}: a dict entry must be a [key, value] pair, got {pair!r}.")
            key = _decode(pair[0], name, arrays, depth + 1)
            if not isinstance(key, (bool, int, float, str)) or key in out:
                _fail(f"{name}: bad or repeated dict key {pair[0]!r}.")
            out[key] = _decode(pair[1], name, arrays, depth + 1)
        return out
    if set(data) == {"ndarray", "dtype"} and isinstance(data["ndarray"], list):
        dtype = data["dtype"]
        if not isinstance(dtype, str) or dtype not in _ARRAY_DTYPES:
            _fail(f"{name}: unsupported array dtype {dtype!r}.")
        values = [_decode(v, name, arrays, depth + 1) for v in data["ndarray"]]
        if not all(isinstance(v, (bool, int, float)) for v in values):
            _fail(f"{name}: an array holds only numbers.")
        try:
            return np.asarray(values, dtype=dtype)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
    if tag == "RandomState" and len(data) == 1 and name == "random_state" and depth == 0:
        state = _keys(data[tag], f"{name}'s RandomState", ("pos", "has_gauss", "cached_gaussian"))
        keys = arrays.get("random_state_keys")
        if keys is None:  # pragma: no cover - _expected_arrays requires it
            _fail("random_state needs the 'random_state_keys' array.")
        if keys.dtype.kind != "u" or keys.dtype.itemsize != 4 or keys.shape != (624,):
            _fail(
                f"random_state_keys must be uint32 of shape (624,), got {keys.dtype} {keys.shape}."
            )
        pos = _int(state["pos"], "random_state pos")
        has_gauss = _int(state["has_gauss"], "random_state has_gauss")
        cached = _float(state["cached_gaussian"], "random_state cached_gaussian")
        if pos > 624 or has_gauss > 1 or not math.isfinite(cached):
            _fail(f"random_state holds an impossible state {state!r}.")
        rng = np.random.RandomState()
        rng.set_state(("MT19937", keys.astype(np.uint32), pos, has_gauss, cached))
        return rng
    _fail(f"{name} holds an unknown JSON object {data!r:.80}.")


def _uses_random_state_keys(hyperparameters):
    rs = hyperparameters.get("random_state")
    return isinstance(rs, dict) and "RandomState" in rs


# ------------------------------------------------------------------ save ----


def _native(a):
    return a.astype(a.dtype.newbyteorder("="), copy=False)


def _network_meta(model):
    sizes = [int(s) for s in model.layer_sizes]
    params = model.params
    return sizes, params, model.activation, model.output_activation, {}


def _estimator_meta(est, include_optimizer, arrays):
    check_is_fitted(est)
    est._sync_params()  # coefs_ / intercepts_ the user assigned
    params = est._params
    meta = {"loss": est.loss}
    meta["hyperparameters"] = {
        k: _encode(v, k, arrays) for k, v in est.get_params(deep=False).items()
    }
    attributes = {}
    for name in _ATTRIBUTES:
        if hasattr(est, name):
            value = getattr(est, name)
            if name == "feature_names_in_":
                value = [str(v) for v in value]
            attributes[name] = _encode(value, name, arrays)
    meta["attributes"] = attributes

    if isinstance(est, MLPClassifier):
        lb = est._label_binarizer
        classes = np.asarray(est.classes_)
        if classes.ndim == 1 and classes.dtype.kind in "biufUS":
            arrays["classes"] = _native(classes)
            stored = "array"
        else:
            stored = [v.item() if isinstance(v, np.generic) else v for v in classes.tolist()]
            if not all(isinstance(v, (bool, int, float, str)) for v in stored):
                raise ValueError(
                    f"cannot store classes_ {classes!r} in a model file: labels must be "
                    "booleans, numbers or strings."
                )
            stored = [_encode(v, "classes_", arrays) for v in stored]
        meta["label_binarizer"] = {
            "classes_": stored,
            "y_type_": str(lb.y_type_),
            "sparse_input_": bool(lb.sparse_input_),
            "neg_label": int(lb.neg_label),
            "pos_label": int(lb.pos_label),
            "sparse_output": bool(lb.sparse_output),
        }

    opt = getattr(est, "_optimizer", None)
    if (
        include_optimizer
        and opt is not None
        and est.solver in STOCHASTIC_SOLVERS
        and getattr(opt, "code", None) == SOLVERS[est.solver]
        and getattr(getattr(opt, "state", None), "shape", (0, 0))[1:] == params.shape
    ):
        try:
            fields = {k: _encode(v, k, {}) for k, v in vars(opt).items() if k != "state"}
        except ValueError as exc:
            warnings.warn(
                f"The optimizer's state is not saved ({exc}); partial_fit on the loaded "
                "model starts a fresh optimizer.",
                stacklevel=3,
            )
        else:
            meta["optimizer"] = fields
            arrays["optimizer_state"] = np.ascontiguousarray(opt.state)
    sizes = [int(s) for s in est._sizes]
    return sizes, params, est.activation, est.out_activation_, meta


def save(model, path, *, include_optimizer=True):
    """Write a fitted model to a safe ``.npz`` model file.

    The file holds the parameters as arrays and the hyperparameters and
    metadata as JSON text; nothing is pickled, so :func:`load` can open it
    without running code from it. See :mod:`fastbp.io` for the format.

    Parameters
    ----------
    model : fitted MLPRegressor, fitted MLPClassifier or Network
        The model to store (exactly these classes, not subclasses).
    path : str or path-like
        Where to write. The file is written to exactly this path: unlike
        :func:`numpy.savez`, no ``.npz`` suffix is added. An existing file is
        replaced whole: the new file is written beside it and renamed over it,
        so that whatever stops the save (a full disk, Ctrl-C, a kill), ``path``
        holds the old model or the new one (see ``fastbp._files``). A model that
        cannot be stored leaves no file behind.
    include_optimizer : bool, default=True
        Also store the sgd / adam optimizer's state (velocity or moments, the
        learning rate and step count) so that ``partial_fit`` on the loaded
        model continues exactly as on this one. Without it the file is smaller
        and ``partial_fit`` starts a fresh optimizer (as ``fit`` with
        ``warm_start=True`` always does).

    Returns
    -------
    None

    Raises
    ------
    TypeError
        If ``model`` is not one of the classes above.
    sklearn.exceptions.NotFittedError
        If ``model`` is an estimator that has not been fitted.
    ValueError
        If the parameters are not finite, or a hyperparameter or class label
        has a type the format cannot hold without pickling (for example an
        arbitrary object).

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import numpy as np, fastbp
    >>> X, y = np.random.rand(20, 3), np.random.rand(20)
    >>> model = fastbp.MLPRegressor(hidden_layer_sizes=(5,), random_state=0)
    >>> model = model.fit(X, y)  # doctest: +SKIP
    >>> fastbp.save(model, "model.npz")  # doctest: +SKIP
    >>> again = fastbp.load("model.npz")  # doctest: +SKIP
    >>> bool((again.predict(X) == model.predict(X)).all())  # doctest: +SKIP
    True
    """
    kind = next((k for k, cls in KINDS.items() if type(model) is cls), None)
    if kind is None:
        raise TypeError(
            "save takes a fastbp.MLPRegressor, fastbp.MLPClassifier or fastbp.Network, "
            f"got {type(model).__name__}. Use pickle or joblib for other objects."
        )
    arrays = {}
    if kind == "Network":
        sizes, params, activation, output_activation, extra = _network_meta(model)
    else:
        sizes, params, activation, output_activation, extra = _estimator_meta(
            model, include_optimizer, arrays
        )
    if not np.isfinite(params).all():
        raise ValueError("cannot save a model whose parameters contain NaN or infinity.")
    from . import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastbp_version": __version__,
        "kind": kind,
        "layer_sizes": sizes,
        "dtype": params.dtype.name,
        "activation": activation,
        "output_activation": output_activation,
        **extra,
    }
    text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    arrays["metadata"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    arrays["params"] = np.ascontiguousarray(params)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    replace_file(path, lambda f: f.write(buffer.getbuffer()))


# ------------------------------------------------------------------ load ----


def _no_constants(name):
    raise ValueError(f"the JSON holds {name}, which strict JSON does not allow")


def _no_repeats(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the JSON repeats the key {key!r}")
        out[key] = value
    return out


class _Archive:
    """The members of an open NpzFile, each read only after its size is checked."""

    def __init__(self, npz):
        self.npz = npz
        names = npz.zip.namelist()
        if len(set(names)) != len(names):
            _fail("the archive has repeated member names.")
        odd = [n for n in names if not n.endswith(".npy")]
        if odd:
            _fail(f"the archive has members that are not .npy arrays: {odd[:5]}.")
        self.names = {n[: -len(".npy")] for n in names}

    def read(self, name, max_bytes):
        size = self.npz.zip.getinfo(name + ".npy").file_size
        if size > max_bytes:
            _fail(f"array {name!r} is {size} bytes uncompressed; at most {max_bytes} expected.")
        try:
            arr = self.npz[name]
        except _READ_ERRORS as exc:
            raise ValueError(
                f"array {name!r} cannot be read safely (damaged, or pickled objects): {exc}"
            ) from exc
        if not isinstance(arr, np.ndarray):  # pragma: no cover - members are .npy
            _fail(f"member {name!r} is not an array.")
        return arr


def _float_array(arr, name, dtype, shape):
    if arr.dtype.kind != "f" or arr.dtype.itemsize != np.dtype(dtype).itemsize:
        _fail(f"{name} must hold {np.dtype(dtype).name} numbers, got dtype {arr.dtype}.")
    if arr.shape != shape:
        _fail(f"{name} must have shape {shape}, got {arr.shape}.")
    out = np.array(arr, dtype=dtype, order="C", copy=True)  # native, owned, writable
    if not np.isfinite(out).all():
        _fail(f"{name} contains NaN or infinity.")
    return out


def _read_metadata(archive):
    if "metadata" not in archive.names:
        _fail(
            "it has no 'metadata' array, so it is not a fastbp model file "
            f"(it holds {sorted(archive.names)[:10]})."
        )
    raw = archive.read("metadata", MAX_METADATA_BYTES + NPY_HEADER_ROOM)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        _fail(f"'metadata' must be a 1-D uint8 array of UTF-8 JSON, got {raw.dtype} {raw.shape}.")
    try:
        meta = json.loads(
            raw.tobytes().decode("utf-8"),
            parse_constant=_no_constants,
            object_pairs_hook=_no_repeats,
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError
        raise ValueError(f"'metadata' is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(meta, dict):
        _fail(f"'metadata' must be a JSON object, got {type(meta).__name__}.")
    if meta.get("format") != FORMAT:
        _fail(f"format is {meta.get('format')!r}, not {FORMAT!r}: not a fastbp model file.")
    version = meta.get("format_version")
    if not _is_int(version) or version != FORMAT_VERSION:
        _fail(
            f"format_version {version!r} is not supported: this fastbp "
            f"reads version {FORMAT_VERSION}."
        )
    kind = meta.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        _fail(f"unknown model kind {kind!r}; expected one of {sorted(KINDS)}.")
    if kind == "Network":
        _keys(meta, "metadata", _HEADER + _ATTR_COMMON)
    else:
        optional = ("optimizer",)
        required = _HEADER + _ATTR_COMMON + ("loss", "hyperparameters", "attributes")
        if kind == "MLPClassifier":
            required += ("label_binarizer",)
        _keys(meta, "metadata", required, optional)
        _object(meta["hyperparameters"], "hyperparameters")
        _keys(meta["attributes"], "attributes", (), _ATTRIBUTES)
        if kind == "MLPClassifier":
            _keys(meta["label_binarizer"], "label_binarizer", _LB_FIELDS)
    _str(meta["fastbp_version"], "fastbp_version")
    return meta


def _expected_arrays(meta):
    names = {"metadata", "params"}
    if meta["kind"] == "Network":
        return names
    if meta["kind"] == "MLPClassifier" and meta["label_binarizer"]["classes_"] == "array":
        names.add("classes")
    if "optimizer" in meta:
        names.add("optimizer_state")
    if _uses_random_state_keys(meta["hyperparameters"]):
        names.add("random_state_keys")
    return names


def _layer_sizes(meta):
    sizes = meta["layer_sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(_is_int(s) and s >= 1 for s in sizes)
    ):
        _fail(f"layer_sizes must be a list of at least two integers >= 1, got {sizes!r:.200}.")
    return sizes


def _read_params(archive, meta):
    sizes = _layer_sizes(meta)
    dtype = meta["dtype"]
    if dtype not in ("float32", "float64"):
        _fail(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    count = n_params(sizes)
    itemsize = np.dtype(dtype).itemsize
    arr = archive.read("params", count * itemsize + NPY_HEADER_ROOM)
    if arr.ndim != 1 or arr.size != count:
        _fail(
            f"layer_sizes {sizes} need {count} parameters, but the 'params' array "
            f"has shape {arr.shape}."
        )
    params = _float_array(arr, "'params'", np.dtype(dtype), (count,))
    return np.asarray(sizes, dtype=np.int64), params


def _load_network(meta, sizes, params):
    if meta["activation"] not in HIDDEN_ACTIVATIONS:
        _fail(
            f"unknown activation {meta['activation']!r}; "
            f"expected one of {sorted(HIDDEN_ACTIVATIONS)}."
        )
    if meta["output_activation"] not in OUTPUT_ACTIVATIONS:
        _fail(
            f"unknown output_activation {meta['output_activation']!r}; "
            f"expected one of {sorted(OUTPUT_ACTIVATIONS)}."
        )
    net = Network(
        sizes.tolist(),
        activation=meta["activation"],
        output_activation=meta["output_activation"],
        dtype=params.dtype.type,
        random_state=0,
    )
    net.params = params  # copied into the network's own buffer, its views stay valid
    return net


def _label_binarizer(meta, arrays, n_outputs):
    spec = meta["label_binarizer"]
    stored = spec["classes_"]
    if isinstance(stored, str) and stored == "array":
        arr = arrays["classes"]
        if arr.ndim != 1 or arr.dtype.kind not in "biufUS":
            _fail(f"'classes' must be a 1-D array of labels, got {arr.dtype} {arr.shape}.")
        classes = np.array(arr, dtype=arr.dtype.newbyteorder("="), copy=True)
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            _fail("'classes' contains NaN or infinity.")
    elif isinstance(stored, list):
        values = [_decode(v, "classes_", arrays) for v in stored]
        if not all(isinstance(v, (bool, int, float, str)) for v in values):
            _fail("label_binarizer.classes_ must hold booleans, numbers or strings.")
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            _fail("label_binarizer.classes_ contains NaN or infinity.")
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
    else:
        _fail(f"label_binarizer.classes_ must be 'array' or a list, got {stored!r:.80}.")
    if classes.size == 0 or len(np.unique(classes)) != classes.size:
        _fail("the classes must be a non-empty list of distinct labels.")

    y_type = spec["y_type_"]
    if y_type not in _Y_TYPES:
        _fail(f"unknown label type y_type_ {y_type!r}; expected one of {list(_Y_TYPES)}.")
    expected = 1 if y_type == "binary" else classes.size
    if n_outputs != expected or (y_type == "binary" and classes.size > 2):
        _fail(
            f"{classes.size} classes of type {y_type!r} do not fit a network with "
            f"{n_outputs} output(s)."
        )
    neg, pos = (
        _int(spec["neg_label"], "neg_label", None),
        _int(spec["pos_label"], "pos_label", None),
    )
    sparse_output = _bool(spec["sparse_output"], "sparse_output")
    if neg >= pos or (sparse_output and (pos == 0 or neg != 0)):
        _fail(
            f"impossible label values neg_label={neg}, pos_label={pos}, "
            f"sparse_output={sparse_output}."
        )
    lb = label_binarizer(neg_label=neg, pos_label=pos, sparse_output=sparse_output)
    lb.y_type_ = y_type
    lb.sparse_input_ = _bool(spec["sparse_input_"], "sparse_input_")
    lb.classes_ = classes
    return lb


def _optimizer(est, meta, arrays, params):
    if est.solver not in STOCHASTIC_SOLVERS:
        _fail(f"the file holds optimizer state, but solver {est.solver!r} has none.")
    fresh = StochasticOptimizer(est, params.size, params.dtype)
    reference = {k: v for k, v in vars(fresh).items() if k != "state"}
    saved = _keys(meta["optimizer"], "optimizer", tuple(reference))
    for name, ref in reference.items():
        value = _decode(saved[name], f"optimizer.{name}", arrays)
        where = f"optimizer.{name}"
        if isinstance(ref, bool):
            value = _bool(value, where)
        elif isinstance(ref, Integral):
            value = _int(value, where)
        elif isinstance(ref, Real):
            value = _float(value, where)
            if not math.isfinite(value):
                _fail(f"{where} must be finite, got {value!r}.")
        elif isinstance(ref, str):
            value = _str(value, where)
        elif ref is not None or value is not None:
            _fail(f"{where} has an unexpected value {value!r:.80}.")
        setattr(fresh, name, value)
    if fresh.code != SOLVERS[est.solver]:
        _fail(f"the optimizer state is for another solver than {est.solver!r}.")
    fresh.state[...] = _float_array(
        arrays["optimizer_state"], "'optimizer_state'", params.dtype, fresh.state.shape
    )
    return fresh


def _load_estimator(meta, arrays, sizes, params):
    cls = KINDS[meta["kind"]]
    hp = {k: _decode(v, k, arrays) for k, v in meta["hyperparameters"].items()}
    names = set(cls._get_param_names())
    if set(hp) != names:
        missing, unknown = sorted(names - set(hp)), sorted(set(hp) - names)
        _fail(
            f"hyperparameters do not match {cls.__name__}'s: missing {missing}, unknown {unknown}."
        )
    est = cls(**hp)
    try:
        est._validate_params()
    except (TypeError, ValueError) as exc:  # InvalidParameterError is both
        raise ValueError(f"invalid hyperparameters: {exc}") from exc
    loss = meta["loss"]
    if not isinstance(loss, str) or loss not in LOSSES:
        _fail(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}.")
    if loss != est.loss:
        _fail(f"loss {loss!r} does not match the estimator's loss {est.loss!r}.")
    if meta["activation"] != est.activation:
        _fail(
            f"activation {meta['activation']!r} does not match hyperparameter {est.activation!r}."
        )

    attrs = {}
    for name, (required, check) in _ATTRIBUTES.items():
        if name in meta["attributes"]:
            attrs[name] = check(_decode(meta["attributes"][name], name, arrays), name)
        elif required:
            _fail(f"attributes is missing {name!r}.")
    for name, want in (
        ("n_features_in_", int(sizes[0])),
        ("n_outputs_", int(sizes[-1])),
        ("n_layers_", len(sizes)),
    ):
        if attrs[name] != want:
            _fail(f"{name} is {attrs[name]}, but layer_sizes {sizes.tolist()} imply {want}.")
    names_in = attrs.get("feature_names_in_")
    if names_in is not None and names_in.size != attrs["n_features_in_"]:
        _fail(f"{names_in.size} feature names for {attrs['n_features_in_']} features.")
    for name, value in attrs.items():
        setattr(est, name, value)

    if cls is MLPClassifier:
        est._label_binarizer = _label_binarizer(meta, arrays, attrs["n_outputs_"])
        est.classes_ = est._label_binarizer.classes_
    out = attrs["out_activation_"]
    if out not in OUTPUT_ACTIVATIONS:
        _fail(f"unknown out_activation_ {out!r}; expected one of {sorted(OUTPUT_ACTIVATIONS)}.")
    if out != est._output_activation() or meta["output_activation"] != out:
        _fail(
            f"output activation {meta['output_activation']!r} / out_activation_ {out!r} "
            f"does not match the {cls.__name__}'s {est._output_activation()!r}."
        )
    check_pair(loss, out)

    est._sizes = sizes
    est._set_params_buffer(params)
    est._best_params = est._params  # as fit leaves it (early stopping restores into it)
    if "optimizer" in meta:
        est._optimizer = _optimizer(est, meta, arrays, params)
    return est


def load(path):
    """Read a model written by :func:`save`, checking every field it reads.

    The file is opened with ``numpy.load(..., allow_pickle=False)``: nothing in
    it is unpickled, so a model file from someone else cannot run code. Before
    a model is built, the format name and version, the model kind, the layer
    sizes against the array shapes, the dtypes, the activation and loss names,
    the hyperparameters (against the estimator's own constraints) and every
    fitted attribute are checked; array members are only decompressed when
    their declared size is what the layer sizes imply.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    model : MLPRegressor, MLPClassifier or Network
        The model as it was saved: it predicts bit for bit what the saved one
        did. Estimators are fitted (``check_is_fitted`` passes), keep their
        parameters in one flat buffer with ``coefs_`` / ``intercepts_`` as
        views, and can go on training with ``warm_start`` or ``partial_fit``
        (continuing the saved optimizer if the file holds it, else with a
        fresh one).

    Raises
    ------
    FileNotFoundError, PermissionError, IsADirectoryError
        If ``path`` cannot be opened.
    ValueError
        If the file is not a fastbp model file or was damaged or altered: not a
        zip/npz archive (random bytes, an empty or text file, a single ``.npy``),
        truncated, an archive with pickled (object) arrays, unrelated arrays,
        missing or extra arrays, invalid or repeated JSON, an unknown format
        version, model kind, activation or loss, layer sizes that do not match
        the arrays, parameters of the wrong dtype or with NaN or infinity, or
        inconsistent attributes. The message names the problem.

    See Also
    --------
    save : Write a model file.
    """
    path = os.fspath(path)
    if is_partial(path):
        raise ValueError(
            f"{path!r} is not a fastbp model file: it is the temporary file of a save that"
            " was killed before it finished (the model saved last is in the file named"
            " after it, without the leading '.' and the random suffix)."
        )
    with open(path, "rb") as f:  # a missing file is reported as such, not as a bad one
        head = f.read(len(_NPY_MAGIC))
        f.seek(0)
        if not head:
            raise ValueError(f"{path!r} is empty: not a fastbp model file.")
        if head == _NPY_MAGIC:
            raise ValueError(f"{path!r} is not a fastbp model file: it is a single .npy array.")
        if not head.startswith(_ZIP_MAGIC):
            raise ValueError(
                f"{path!r} is not a fastbp model file: it is not an .npz (zip) archive."
            )
        try:
            npz = np.load(f, allow_pickle=False)
        except _READ_ERRORS as exc:
            raise ValueError(
                f"{path!r} is not a fastbp model file: it cannot be read as an "
                f".npz archive, it may be truncated or damaged ({exc})."
            ) from exc
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(f"{path!r} is not a fastbp model file: it is a single .npy array.")
        with npz:
            try:
                return _load(npz)
            except _READ_ERRORS as exc:
                raise ValueError(f"Cannot load {path!r}: {exc}") from exc


def _load(npz):
    archive = _Archive(npz)
    meta = _read_metadata(archive)
    expected = _expected_arrays(meta)
    missing, extra = sorted(expected - archive.names), sorted(archive.names - expected)
    if missing:
        _fail(f"missing array(s) {missing}.")
    if extra:
        _fail(f"unexpected array(s) {extra}.")
    sizes, params = _read_params(archive, meta)
    if meta["kind"] == "Network":
        return _load_network(meta, sizes, params)
    arrays = {}
    if "classes" in expected:
        arrays["classes"] = archive.read("classes", MAX_CLASSES_BYTES)
    if "random_state_keys" in expected:
        arrays["random_state_keys"] = archive.read("random_state_keys", 624 * 4 + NPY_HEADER_ROOM)
    if "optimizer_state" in expected:
        limit = 2 * params.nbytes + NPY_HEADER_ROOM
        arrays["optimizer_state"] = archive.read("optimizer_state", limit)
    return _load_estimator(meta, arrays, sizes, params)
