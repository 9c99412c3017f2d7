"""Safe model files: ``fastbp.save`` and ``fastbp.load``.

A model file is one NumPy ``.npz`` archive (``fastbp._archive``) holding plain
numeric arrays and one array of UTF-8 JSON text (``fastbp._codec``). Nothing in
it is pickled, and ``load`` reads it with ``allow_pickle=False``, so opening a
model file from someone else cannot run code; ``load`` checks every field against
the schema below before it builds a model. What a model keeps is each class's
own statement (``_fitted_state`` / ``_from_fitted_state`` on Network, the
estimators and the optimizer); this module maps it to the format's names.

Arrays (format version 1):

``metadata``
    uint8, shape (n_bytes,): the UTF-8 bytes of the JSON object below.
``params``
    float32 or float64, shape (n_params,): every weight and bias in fastbp's
    flat layout (all coefs raveled in C order, layer by layer, then all
    intercepts, layer by layer; see ``fastbp._kernels.layout``).
``classes``
    MLPClassifier only, when its ``classes_`` are booleans, numbers or strings
    (otherwise they are JSON values, see below).
``optimizer_state``
    sgd / adam estimators only (optional): the velocity (shape (1, n_params))
    or Adam's moments (shape (2, n_params)), so ``partial_fit`` goes on exactly.
``random_state_keys``
    uint32, shape (624,): when the ``random_state`` hyperparameter is a
    numpy RandomState, its Mersenne Twister keys.

JSON fields, every kind (``HEADER``, ``NETWORK``):

- ``format`` ("fastbp-model"), ``format_version`` (1), ``fastbp_version``,
- ``kind``: "Network", "MLPRegressor" or "MLPClassifier",
- ``layer_sizes`` (input first, output last), ``dtype`` ("float32" or "float64"),
- ``activation`` (hidden layers), ``output_activation``.

Estimators also have (``ESTIMATOR``):

- ``loss``,
- ``hyperparameters``: ``get_params()``,
- ``attributes``: the fitted attributes the model has of ``ATTRIBUTES``,
- ``optimizer`` (optional, with ``optimizer_state``): the stochastic optimizer's
  scalars, ``OPTIMIZER`` (learning rate, step count ``t``, ...).

MLPClassifier also has ``label_binarizer`` (``LABEL_BINARIZER``): ``classes_``
("array" when they are in the ``classes`` array, else the list of values),
``y_type_``, ``sparse_input_``, ``neg_label``, ``pos_label``, ``sparse_output``.

Ensembles (kind "EnsembleRegressor" or "EnsembleClassifier") are their members
plus their own fields (``ENSEMBLE``): member k's arrays, "metadata" included, are
those of a model file of its own (kind "MLPRegressor" or "MLPClassifier"),
under the names ``members/<k>/...``. The ensemble's JSON has the header and

- ``hyperparameters``: ``get_params(deep=False)`` without ``estimator``,
- ``estimator``: null, or the estimator's ``get_params(deep=False)`` (a
  RandomState's keys in the array ``estimator/random_state_keys``),
- ``seeds``: ``seeds_``, one integer in [0, 2**31 - 1) per member; member k's
  ``random_state`` must be ``seeds[k]``,
- ``attributes``: ``n_features_in_``, ``feature_names_in_`` (optional),
- EnsembleClassifier: ``label_binarizer`` as above (its ``classes`` array at the
  top level); each member's classes must be among them.

Values JSON cannot hold are tagged objects (``fastbp._codec``).
"""

import math
import os
import warnings

import numpy as np

from . import _archive
from ._codec import (
    RANDOM_STATE_KEYS,
    FileError,
    decode,
    dumps,
    encode,
    fail,
    fields,
    parse,
    uses_random_state_keys,
)
from ._files import is_partial
from ._kernels.layout import n_params
from ._solvers import StochasticOptimizer
from ._tables import HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATIONS, SOLVERS, check_pair
from .ensemble import MAX_INT, EnsembleClassifier, EnsembleRegressor
from .estimators import MLPClassifier, MLPRegressor, label_binarizer
from .network import Network

__all__ = ["save", "load"]

FORMAT = "fastbp-model"
FORMAT_VERSION = 1
KINDS = {"Network": Network, "MLPRegressor": MLPRegressor, "MLPClassifier": MLPClassifier}
# An ensemble's kind -> (its class, its members' kind).
ENSEMBLES = {
    "EnsembleRegressor": (EnsembleRegressor, "MLPRegressor"),
    "EnsembleClassifier": (EnsembleClassifier, "MLPClassifier"),
}
SAVED_CLASSES = {**KINDS, **{kind: cls for kind, (cls, _) in ENSEMBLES.items()}}
MEMBER_PREFIX = "members/{}/"  # member k's arrays, as in a model file of its own
ESTIMATOR_PREFIX = "estimator/"  # the ensemble's estimator's random state keys

# Largest metadata and classes members ``load`` decompresses; the other members
# must have the size their shape implies before they are read.
MAX_METADATA_BYTES = 64 << 20
MAX_CLASSES_BYTES = 64 << 20
RANDOM_STATE_KEYS_BYTES = 624 * 4 + _archive.NPY_HEADER_ROOM  # MT19937's keys, uint32

# ----------------------------------------------------------------- the schema ----
# A check takes the decoded JSON value and the field's name; it returns the value
# as the model takes it, or raises a FileError saying what is wrong.


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def integer(low=0):
    def check(v, name):
        if not _is_int(v) or (low is not None and v < low):
            bound = "" if low is None else f" >= {low}"
            fail(f"{name} must be an integer{bound}, got {v!r:.40}.")
        return v

    return check


def number(finite=False):
    def check(v, name):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            fail(f"{name} must be a number, got {v!r}.")
        if finite and not math.isfinite(v):
            fail(f"{name} must be finite, got {v!r}.")
        return float(v)

    return check


def numbers(v, name):
    if not isinstance(v, list):
        fail(f"{name} must be a list of numbers, got {type(v).__name__}.")
    return [number()(x, f"{name}[{i}]") for i, x in enumerate(v)]


def text(v, name):
    if not isinstance(v, str):
        fail(f"{name} must be a string, got {v!r}.")
    return v


def texts(v, name):
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        fail(f"{name} must be a list of strings.")
    return np.asarray(v, dtype=object)


def boolean(v, name):
    if not isinstance(v, bool):
        fail(f"{name} must be true or false, got {v!r}.")
    return v


def optional(check):
    return lambda v, name: None if v is None else check(v, name)


def one_of(choices, what):
    def check(v, name):
        if not isinstance(v, str) or v not in choices:
            fail(f"unknown {what} {v!r}; expected one of {sorted(choices)}.")
        return v

    return check


def dtype_name(v, name):
    if v not in ("float32", "float64"):
        fail(f"{name} must be 'float32' or 'float64', got {v!r}.")
    return v


def json_object(v, name):
    if not isinstance(v, dict):
        fail(f"{name} must be a JSON object, got {type(v).__name__}.")
    return v


def layer_sizes(v, name):
    if not isinstance(v, list) or len(v) < 2 or not all(_is_int(s) and s >= 1 for s in v):
        fail(f"{name} must be a list of at least two integers >= 1, got {v!r:.200}.")
    return v


HEADER = ("format", "format_version", "fastbp_version", "kind")
NETWORK = {
    "layer_sizes": layer_sizes,
    "dtype": dtype_name,
    "activation": one_of(HIDDEN_ACTIVATIONS, "activation"),
    "output_activation": one_of(OUTPUT_ACTIVATIONS, "output_activation"),
}
ESTIMATOR = ("loss", "hyperparameters", "attributes")  # besides HEADER and NETWORK
# The fitted attributes of an estimator a file keeps: name -> (required, check).
ATTRIBUTES = {
    "n_features_in_": (True, integer(1)),
    "feature_names_in_": (False, texts),
    "n_outputs_": (True, integer(1)),
    "n_layers_": (True, integer(2)),
    "out_activation_": (True, one_of(OUTPUT_ACTIVATIONS, "out_activation_")),
    "n_iter_": (True, integer()),
    "t_": (True, integer()),
    "loss_": (False, number()),
    "loss_curve_": (False, numbers),
    "best_loss_": (False, optional(number())),
    "validation_scores_": (False, optional(numbers)),
    "best_validation_score_": (False, optional(number())),
    "_no_improvement_count": (False, integer()),
}
LABEL_BINARIZER = (
    "classes_",
    "y_type_",
    "sparse_input_",
    "neg_label",
    "pos_label",
    "sparse_output",
)
Y_TYPES = ("binary", "multiclass", "multilabel-indicator")
ENSEMBLE = ("hyperparameters", "estimator", "seeds", "attributes")  # besides HEADER
ENSEMBLE_ATTRIBUTES = {
    "n_features_in_": (True, integer(1)),
    "feature_names_in_": (False, texts),
}
# The stochastic optimizer's scalars, by the file's names (StochasticOptimizer.FIELDS).
OPTIMIZER = {
    "code": integer(),
    "learning_rate_init": number(finite=True),
    "learning_rate": number(finite=True),
    "lr_schedule": one_of(("constant", "invscaling", "adaptive"), "learning rate schedule"),
    "momentum": number(finite=True),
    "nesterov": boolean,
    "power_t": number(finite=True),
    "beta_1": number(finite=True),
    "beta_2": number(finite=True),
    "epsilon": number(finite=True),
    "t": integer(),
}
assert tuple(OPTIMIZER) == StochasticOptimizer.FIELDS


# ------------------------------------------------------------------- save ----


def save(model, path, *, include_optimizer=True):
    """Write a fitted model to a safe ``.npz`` model file.

    The file holds the parameters as arrays and the hyperparameters and
    metadata as JSON text; nothing is pickled, so :func:`load` can open it
    without running code from it. See :mod:`fastbp.io` for the format.

    Parameters
    ----------
    model : fitted MLPRegressor, MLPClassifier, EnsembleRegressor or EnsembleClassifier, or Network
        The model to store (exactly these classes, not subclasses; an
        ensemble's estimator and members too).
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
    kind = next((k for k, cls in SAVED_CLASSES.items() if type(model) is cls), None)
    if kind is None:
        raise TypeError(
            "save takes a fastbp.MLPRegressor, MLPClassifier, Network, EnsembleRegressor or "
            f"EnsembleClassifier, got {type(model).__name__}. Use pickle or joblib for other "
            "objects."
        )
    if kind in ENSEMBLES:
        arrays = _ensemble_arrays(model, kind, include_optimizer)
    else:
        arrays = _model_arrays(model, kind, include_optimizer)
    _archive.write(path, arrays)


def _header(kind):
    from . import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastbp_version": __version__,
        "kind": kind,
    }


def _metadata_array(meta):
    return np.frombuffer(dumps(meta).encode("utf-8"), dtype=np.uint8)


def _model_arrays(model, kind, include_optimizer):
    """The arrays of a model file of one Network or estimator, "metadata" included."""
    arrays = {}
    meta = _header(kind)
    state = model._fitted_state() if kind != "Network" else {"network": model}
    network = state["network"]._fitted_state()
    params = network.pop("params")
    if not np.isfinite(params).all():
        raise ValueError("cannot save a model whose parameters contain NaN or infinity.")
    meta.update(network, dtype=params.dtype.name)
    if kind != "Network":
        meta.update(_estimator_meta(model, state, include_optimizer, arrays))
    arrays["metadata"] = _metadata_array(meta)
    arrays["params"] = np.ascontiguousarray(params)
    return arrays


def _ensemble_arrays(ens, kind, include_optimizer):
    """The arrays of an ensemble's model file: its own metadata (and classes, random
    state keys), then each member's arrays under ``members/<k>/``."""
    _, member_kind = ENSEMBLES[kind]
    state = ens._fitted_state()
    arrays = {}
    meta = _header(kind)
    meta["hyperparameters"] = {k: encode(v, k, arrays) for k, v in state["hyperparameters"].items()}
    template = state["estimator"]
    if template is None:
        meta["estimator"] = None
    else:
        if type(template) is not KINDS[member_kind]:
            raise TypeError(
                f"cannot save a {kind} whose estimator is a {type(template).__name__}: "
                f"only a fastbp {member_kind} itself."
            )
        own = {}  # the template's own random state keys, apart from the ensemble's
        meta["estimator"] = {
            k: encode(v, k, own) for k, v in template.get_params(deep=False).items()
        }
        arrays.update({ESTIMATOR_PREFIX + name: a for name, a in own.items()})
    meta["seeds"] = state["seeds"]
    meta.update(_attributes_meta(state, arrays))
    for k, member in enumerate(state["members"]):
        if type(member) is not KINDS[member_kind]:
            raise TypeError(f"cannot save member {k}, a {type(member).__name__}.")
        member_arrays = _model_arrays(member, member_kind, include_optimizer)
        arrays.update({MEMBER_PREFIX.format(k) + n: a for n, a in member_arrays.items()})
    arrays["metadata"] = _metadata_array(meta)
    return arrays


def _estimator_meta(est, state, include_optimizer, arrays):
    meta = {"loss": est.loss}
    meta["hyperparameters"] = {
        k: encode(v, k, arrays) for k, v in est.get_params(deep=False).items()
    }
    meta.update(_attributes_meta(state, arrays))
    optimizer = state.get("optimizer")
    if include_optimizer and optimizer is not None:
        try:
            fields_ = {k: encode(v, k, {}) for k, v in optimizer.fitted_state().items()}
        except ValueError as exc:  # a scalar of a type the format cannot hold
            warnings.warn(
                f"The optimizer's state is not saved ({exc}); partial_fit on the loaded "
                "model starts a fresh optimizer.",
                stacklevel=3,
            )
        else:
            meta["optimizer"] = fields_
            arrays["optimizer_state"] = np.ascontiguousarray(optimizer.state)
    return meta


def _attributes_meta(state, arrays):
    """``attributes`` (and a classifier's ``label_binarizer``) of a fitted state, as the
    file keeps them: an estimator's or an ensemble's."""
    attributes = dict(state["attributes"])
    if "feature_names_in_" in attributes:
        attributes["feature_names_in_"] = [str(v) for v in attributes["feature_names_in_"]]
    meta = {"attributes": {k: encode(v, k, arrays) for k, v in attributes.items()}}
    if "label_binarizer" in state:
        meta["label_binarizer"] = _label_binarizer_meta(state["label_binarizer"], arrays)
    return meta


def _label_binarizer_meta(lb, arrays):
    classes = np.asarray(lb.classes_)
    if classes.ndim == 1 and classes.dtype.kind in "biufUS":
        arrays["classes"] = classes.astype(classes.dtype.newbyteorder("="), copy=False)
        stored = "array"
    else:
        stored = [v.item() if isinstance(v, np.generic) else v for v in classes.tolist()]
        if not all(isinstance(v, (bool, int, float, str)) for v in stored):
            raise ValueError(
                f"cannot store classes_ {classes!r} in a model file: labels must be "
                "booleans, numbers or strings."
            )
        stored = [encode(v, "classes_", arrays) for v in stored]
    return {
        "classes_": stored,
        "y_type_": str(lb.y_type_),
        "sparse_input_": bool(lb.sparse_input_),
        "neg_label": int(lb.neg_label),
        "pos_label": int(lb.pos_label),
        "sparse_output": bool(lb.sparse_output),
    }


# ------------------------------------------------------------------- load ----


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
    model : MLPRegressor, MLPClassifier, EnsembleRegressor, EnsembleClassifier or Network
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
        try:
            with _archive.Archive(f) as archive:
                return _load(archive)
        except FileError as exc:
            raise FileError(f"Cannot load {path!r}: {exc}") from exc


def _load(archive, kinds=None):
    """The model in ``archive``, whose kind must be one of ``kinds`` (default: any)."""
    meta = _read_metadata(archive, kinds)
    if meta["kind"] in ENSEMBLES:
        return _read_ensemble(archive, meta)
    expected = {"metadata", "params"}
    if meta["kind"] != "Network":
        if meta.get("label_binarizer", {}).get("classes_") == "array":
            expected.add("classes")
        if "optimizer" in meta:
            expected.add("optimizer_state")
        if uses_random_state_keys(meta["hyperparameters"].get("random_state")):
            expected.add(RANDOM_STATE_KEYS)
    missing, extra = sorted(expected - archive.names), sorted(archive.names - expected)
    if missing:
        fail(f"missing array(s) {missing}.")
    if extra:
        fail(f"unexpected array(s) {extra}.")
    network = _read_network(archive, meta)
    if meta["kind"] == "Network":
        return network
    arrays = {}
    if "classes" in expected:
        arrays["classes"] = archive.read("classes", MAX_CLASSES_BYTES)
    if RANDOM_STATE_KEYS in expected:
        arrays[RANDOM_STATE_KEYS] = archive.read(RANDOM_STATE_KEYS, RANDOM_STATE_KEYS_BYTES)
    if "optimizer_state" in expected:
        limit = 2 * network.params.nbytes + _archive.NPY_HEADER_ROOM
        arrays["optimizer_state"] = archive.read("optimizer_state", limit)
    return _read_estimator(meta, arrays, network)


def _read_metadata(archive, kinds=None):
    if "metadata" not in archive.names:
        fail(
            "it has no 'metadata' array, so it is not a fastbp model file "
            f"(it holds {sorted(archive.names)[:10]})."
        )
    raw = archive.read("metadata", MAX_METADATA_BYTES + _archive.NPY_HEADER_ROOM)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        fail(f"'metadata' must be a 1-D uint8 array of UTF-8 JSON, got {raw.dtype} {raw.shape}.")
    meta = parse(raw.tobytes(), "'metadata'")
    if meta.get("format") != FORMAT:
        fail(f"format is {meta.get('format')!r}, not {FORMAT!r}: not a fastbp model file.")
    version = meta.get("format_version")
    if not _is_int(version) or version != FORMAT_VERSION:
        fail(
            f"format_version {version!r} is not supported: this fastbp "
            f"reads version {FORMAT_VERSION}."
        )
    kind = meta.get("kind")
    kinds = SAVED_CLASSES if kinds is None else kinds
    if not isinstance(kind, str) or kind not in kinds:
        fail(f"unknown model kind {kind!r}; expected one of {sorted(kinds)}.")
    required = HEADER + tuple(NETWORK)
    if kind in ENSEMBLES:
        classifier = kind == "EnsembleClassifier"
        fields(meta, "metadata", HEADER + ENSEMBLE + (("label_binarizer",) if classifier else ()))
        json_object(meta["hyperparameters"], "hyperparameters")
        optional(json_object)(meta["estimator"], "estimator")
        fields(meta["attributes"], "attributes", (), ENSEMBLE_ATTRIBUTES)
        if classifier:
            fields(meta["label_binarizer"], "label_binarizer", LABEL_BINARIZER)
    elif kind == "Network":
        fields(meta, "metadata", required)
    else:
        required += ESTIMATOR + (("label_binarizer",) if kind == "MLPClassifier" else ())
        fields(meta, "metadata", required, ("optimizer",))
        json_object(meta["hyperparameters"], "hyperparameters")
        fields(meta["attributes"], "attributes", (), ATTRIBUTES)
        if kind == "MLPClassifier":
            fields(meta["label_binarizer"], "label_binarizer", LABEL_BINARIZER)
    text(meta["fastbp_version"], "fastbp_version")
    return meta


def _float_array(arr, name, dtype, shape):
    if arr.dtype.kind != "f" or arr.dtype.itemsize != np.dtype(dtype).itemsize:
        fail(f"{name} must hold {np.dtype(dtype).name} numbers, got dtype {arr.dtype}.")
    if arr.shape != shape:
        fail(f"{name} must have shape {shape}, got {arr.shape}.")
    out = np.array(arr, dtype=dtype, order="C", copy=True)  # native, owned, writable
    if not np.isfinite(out).all():
        fail(f"{name} contains NaN or infinity.")
    return out


def _read_network(archive, meta):
    sizes, dtype, activation, output = (check(meta[name], name) for name, check in NETWORK.items())
    count = n_params(sizes)
    arr = archive.read("params", count * np.dtype(dtype).itemsize + _archive.NPY_HEADER_ROOM)
    if arr.ndim != 1 or arr.size != count:
        fail(
            f"layer_sizes {sizes} need {count} parameters, but the 'params' array "
            f"has shape {arr.shape}."
        )
    params = _float_array(arr, "'params'", np.dtype(dtype), (count,))
    return Network._from_fitted_state(sizes, activation, output, params)


def _read_hyperparameters(spec, arrays, cls, what="hyperparameters", **given):
    """``spec`` decoded: every parameter of ``cls`` but those ``given``, checked as
    ``cls`` checks them; returns them and the (unfitted) estimator they make."""
    hp = {k: decode(v, k, arrays) for k, v in spec.items()}
    names = set(cls._get_param_names()) - set(given)
    if set(hp) != names:
        missing, unknown = sorted(names - set(hp)), sorted(set(hp) - names)
        fail(f"{what} do not match {cls.__name__}'s: missing {missing}, unknown {unknown}.")
    try:
        est = cls(**given, **hp)
        est._validate_params()
    except (TypeError, ValueError) as exc:  # InvalidParameterError is both
        raise FileError(f"invalid {what}: {exc}") from exc
    return hp, est


def _read_attributes(meta, arrays, spec):
    """The fitted attributes of ``spec`` (name: (required, check)) in ``meta``."""
    attrs = {}
    for name, (required, check) in spec.items():
        if name in meta["attributes"]:
            attrs[name] = check(decode(meta["attributes"][name], name, arrays), name)
        elif required:
            fail(f"attributes is missing {name!r}.")
    return attrs


def _read_estimator(meta, arrays, network):
    cls = KINDS[meta["kind"]]
    hp, _ = _read_hyperparameters(meta["hyperparameters"], arrays, cls)
    loss = meta["loss"]
    if not isinstance(loss, str) or loss not in LOSSES:
        fail(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}.")
    expected_loss = hp.get("loss", "log_loss")  # (the classifier has no loss parameter)
    if loss != expected_loss:
        fail(f"loss {loss!r} does not match the estimator's loss {expected_loss!r}.")
    if network.activation != hp["activation"]:
        fail(
            f"activation {network.activation!r} does not match hyperparameter {hp['activation']!r}."
        )

    attrs = _read_attributes(meta, arrays, ATTRIBUTES)
    sizes = network.layer_sizes
    for name, want in (
        ("n_features_in_", int(sizes[0])),
        ("n_outputs_", int(sizes[-1])),
        ("n_layers_", len(sizes)),
    ):
        if attrs[name] != want:
            fail(f"{name} is {attrs[name]}, but layer_sizes {sizes.tolist()} imply {want}.")
    names_in = attrs.get("feature_names_in_")
    if names_in is not None and names_in.size != attrs["n_features_in_"]:
        fail(f"{names_in.size} feature names for {attrs['n_features_in_']} features.")

    extra = {}
    if cls is MLPClassifier:
        extra["label_binarizer"] = _read_label_binarizer(meta, arrays, attrs["n_outputs_"])
    if "optimizer" in meta:
        extra["optimizer"] = _read_optimizer(meta, arrays, hp["solver"], network.params)
    est = cls._from_fitted_state(hp, network, attrs, **extra)
    out = attrs["out_activation_"]
    if out != est._output_activation() or network.output_activation != out:
        fail(
            f"output activation {network.output_activation!r} / out_activation_ {out!r} "
            f"does not match the {cls.__name__}'s {est._output_activation()!r}."
        )
    check_pair(loss, out)
    return est


class _Member:
    """Member k's arrays in an ensemble's archive, read as an archive of their own."""

    def __init__(self, archive, prefix, names):
        self.archive, self.prefix, self.names = archive, prefix, names

    def read(self, name, max_bytes):
        return self.archive.read(self.prefix + name, max_bytes)


def _read_ensemble(archive, meta):
    cls, member_kind = ENSEMBLES[meta["kind"]]
    seeds = meta["seeds"]
    if not isinstance(seeds, list) or not seeds:
        fail("seeds must be a non-empty list of integers.")
    for k, seed in enumerate(seeds):
        if not _is_int(seed) or not 0 <= seed < MAX_INT:
            fail(f"seeds[{k}] must be an integer in [0, {MAX_INT}), got {seed!r:.40}.")

    # The ensemble's own arrays, then each member's under its prefix; nothing else.
    expected = {"metadata"}
    if meta.get("label_binarizer", {}).get("classes_") == "array":
        expected.add("classes")
    if uses_random_state_keys(meta["hyperparameters"].get("random_state")):
        expected.add(RANDOM_STATE_KEYS)
    template = meta["estimator"]
    if template is not None and uses_random_state_keys(template.get("random_state")):
        expected.add(ESTIMATOR_PREFIX + RANDOM_STATE_KEYS)
    missing = sorted(expected - archive.names)
    if missing:
        fail(f"missing array(s) {missing}.")
    index = {str(k): k for k in range(len(seeds))}
    member_names = [set() for _ in seeds]
    extra = []
    for name in sorted(archive.names - expected):
        parts = name.split("/", 2)
        if len(parts) == 3 and parts[0] == "members" and parts[1] in index:
            member_names[index[parts[1]]].add(parts[2])
        else:
            extra.append(name)
    if extra:
        fail(f"unexpected array(s) {extra[:10]}.")

    arrays, template_arrays = {}, {}
    if "classes" in expected:
        arrays["classes"] = archive.read("classes", MAX_CLASSES_BYTES)
    if RANDOM_STATE_KEYS in expected:
        arrays[RANDOM_STATE_KEYS] = archive.read(RANDOM_STATE_KEYS, RANDOM_STATE_KEYS_BYTES)
    if ESTIMATOR_PREFIX + RANDOM_STATE_KEYS in expected:
        name = ESTIMATOR_PREFIX + RANDOM_STATE_KEYS
        template_arrays[RANDOM_STATE_KEYS] = archive.read(name, RANDOM_STATE_KEYS_BYTES)

    estimator = None
    if template is not None:  # (its own hyperparameters, unfitted)
        _, estimator = _read_hyperparameters(
            template, template_arrays, KINDS[member_kind], "estimator hyperparameters"
        )
    hp, _ = _read_hyperparameters(meta["hyperparameters"], arrays, cls, estimator=estimator)

    attrs = _read_attributes(meta, arrays, ENSEMBLE_ATTRIBUTES)
    names_in = attrs.get("feature_names_in_")
    if names_in is not None and names_in.size != attrs["n_features_in_"]:
        fail(f"{names_in.size} feature names for {attrs['n_features_in_']} features.")
    extra = {}
    if cls is EnsembleClassifier:
        spec = meta["label_binarizer"]
        stored = spec["classes_"]
        n_classes = len(stored) if isinstance(stored, list) else np.size(arrays.get("classes", ()))
        n_outputs = 1 if spec["y_type_"] == "binary" else n_classes
        extra["label_binarizer"] = _read_label_binarizer(meta, arrays, n_outputs)

    members = []
    for k, seed in enumerate(seeds):
        view = _Member(archive, MEMBER_PREFIX.format(k), member_names[k])
        try:
            member = _load(view, kinds=(member_kind,))
        except FileError as exc:
            raise FileError(f"member {k}: {exc}") from exc
        if member.n_features_in_ != attrs["n_features_in_"]:
            fail(
                f"member {k} has {member.n_features_in_} features, the ensemble "
                f"{attrs['n_features_in_']}."
            )
        if member.random_state != seed:
            fail(f"member {k}'s random_state {member.random_state!r} is not seeds[{k}] {seed}.")
        if "label_binarizer" in extra:
            classes = extra["label_binarizer"].classes_
            if not np.isin(member.classes_, classes).all():
                fail(f"member {k} has classes that are not the ensemble's.")
        members.append(member)
    return cls._from_fitted_state(estimator, hp, members, seeds, attrs, **extra)


def _read_label_binarizer(meta, arrays, n_outputs):
    spec = meta["label_binarizer"]
    stored = spec["classes_"]
    if isinstance(stored, str) and stored == "array":
        arr = arrays["classes"]
        if arr.ndim != 1 or arr.dtype.kind not in "biufUS":
            fail(f"'classes' must be a 1-D array of labels, got {arr.dtype} {arr.shape}.")
        classes = np.array(arr, dtype=arr.dtype.newbyteorder("="), copy=True)
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            fail("'classes' contains NaN or infinity.")
    elif isinstance(stored, list):
        values = [decode(v, "classes_", arrays) for v in stored]
        if not all(isinstance(v, (bool, int, float, str)) for v in values):
            fail("label_binarizer.classes_ must hold booleans, numbers or strings.")
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            fail("label_binarizer.classes_ contains NaN or infinity.")
        classes = np.empty(len(values), dtype=object)
        classes[:] = values
    else:
        fail(f"label_binarizer.classes_ must be 'array' or a list, got {stored!r:.80}.")
    if classes.size == 0 or len(np.unique(classes)) != classes.size:
        fail("the classes must be a non-empty list of distinct labels.")

    y_type = spec["y_type_"]
    if y_type not in Y_TYPES:
        fail(f"unknown label type y_type_ {y_type!r}; expected one of {list(Y_TYPES)}.")
    expected = 1 if y_type == "binary" else classes.size
    if n_outputs != expected or (y_type == "binary" and classes.size > 2):
        fail(
            f"{classes.size} classes of type {y_type!r} do not fit a network with "
            f"{n_outputs} output(s)."
        )
    neg = integer(None)(spec["neg_label"], "neg_label")
    pos = integer(None)(spec["pos_label"], "pos_label")
    sparse_output = boolean(spec["sparse_output"], "sparse_output")
    if neg >= pos or (sparse_output and (pos == 0 or neg != 0)):
        fail(
            f"impossible label values neg_label={neg}, pos_label={pos}, "
            f"sparse_output={sparse_output}."
        )
    lb = label_binarizer(neg_label=neg, pos_label=pos, sparse_output=sparse_output)
    lb.y_type_ = y_type
    lb.sparse_input_ = boolean(spec["sparse_input_"], "sparse_input_")
    lb.classes_ = classes
    return lb


def _read_optimizer(meta, arrays, solver, params):
    if solver not in SOLVERS:
        fail(f"the file holds optimizer state, but solver {solver!r} has none.")
    saved = fields(meta["optimizer"], "optimizer", tuple(OPTIMIZER))
    values = {
        name: check(decode(saved[name], f"optimizer.{name}", arrays), f"optimizer.{name}")
        for name, check in OPTIMIZER.items()
    }
    if values["code"] != SOLVERS[solver]:
        fail(f"the optimizer state is for another solver than {solver!r}.")
    rows = 2 if solver == "adam" else 1
    state = _float_array(
        arrays["optimizer_state"], "'optimizer_state'", params.dtype, (rows, params.size)
    )
    return StochasticOptimizer._from_fitted_state(values, state)
