"""Values in model files' JSON: plain JSON, with a few tagged objects for the rest.

Values JSON cannot hold are one-key objects: ``{"float": "inf"}`` (also "-inf",
"nan"), ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"ndarray": [...], "dtype": "int64"}`` and, for the ``random_state``
hyperparameter only, ``{"RandomState": {"pos": ..., "has_gauss": ...,
"cached_gaussian": ...}}`` with the generator's keys in an array of their own.
The JSON itself is strict: no NaN or Infinity literals, no repeated keys, no
nesting deeper than ``MAX_DEPTH``.

``decode`` and ``parse`` read untrusted text: anything but what ``encode``
writes is a ``FileError`` that says what it is.
"""

import json
import math
from numbers import Integral, Real

import numpy as np

MAX_DEPTH = 32
# Dtypes of the 1-D arrays a value may be (e.g. hidden_layer_sizes).
ARRAY_DTYPES = {"bool", "float16", "float32", "float64"}
ARRAY_DTYPES |= {f"{u}int{b}" for u in ("", "u") for b in (8, 16, 32, 64)}
RANDOM_STATE_KEYS = "random_state_keys"  # the array of a RandomState's keys


class FileError(ValueError):
    """A model file that is not what fastbp.save writes: damaged, altered or foreign."""


def fail(msg):
    raise FileError(msg)


def encode(value, name, arrays):
    """``value`` as JSON data; a RandomState's keys go to ``arrays``. A ValueError
    for a value the format cannot hold without pickling."""
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
        return {"tuple": [encode(v, name, arrays) for v in value]}
    if isinstance(value, list):
        return [encode(v, name, arrays) for v in value]
    if isinstance(value, dict):
        return {
            "dict": [[encode(k, name, arrays), encode(v, name, arrays)] for k, v in value.items()]
        }
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.name in ARRAY_DTYPES:
        return {
            "ndarray": [encode(v, name, arrays) for v in value.tolist()],
            "dtype": value.dtype.name,
        }
    if isinstance(value, np.random.RandomState) and name == "random_state":
        kind, keys, pos, has_gauss, cached = value.get_state()
        if kind != "MT19937" or RANDOM_STATE_KEYS in arrays:
            raise ValueError(f"cannot store {name}={value!r}")
        arrays[RANDOM_STATE_KEYS] = np.asarray(keys, dtype=np.uint32)
        state = {"pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
        return {"RandomState": state}
    raise ValueError(
        f"cannot store {name}={value!r} in a model file: only None, booleans, numbers, "
        "strings, tuples, lists, dicts, 1-D numeric arrays and a RandomState are supported."
    )


def uses_random_state_keys(data):
    """Whether JSON data ``data`` (an encoded random_state) needs the keys' array."""
    return isinstance(data, dict) and "RandomState" in data


def decode(data, name, arrays, depth=0):
    """The value ``encode`` wrote as ``data``; a FileError for anything else."""
    if depth > MAX_DEPTH:
        fail(f"{name} is nested too deeply.")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, name, arrays, depth + 1) for v in data]
    if not isinstance(data, dict):  # pragma: no cover - json gives nothing else
        fail(f"{name} holds an unexpected {type(data).__name__}.")
    tag = next(iter(data), None)
    if tag == "float" and len(data) == 1:
        special = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
        if not isinstance(data[tag], str) or data[tag] not in special:
            fail(f"{name}: {data!r} is not a float.")
        return special[data[tag]]
    if tag == "tuple" and len(data) == 1 and isinstance(data[tag], list):
        return tuple(decode(v, name, arrays, depth + 1) for v in data[tag])
    if tag == "dict" and len(data) == 1 and isinstance(data[tag], list):
        return _decode_dict(data[tag], name, arrays, depth)
    if set(data) == {"ndarray", "dtype"} and isinstance(data["ndarray"], list):
        return _decode_array(data, name, arrays, depth)
    if tag == "RandomState" and len(data) == 1 and name == "random_state" and depth == 0:
        return _decode_random_state(data[tag], name, arrays)
    fail(f"{name} holds an unknown JSON object {data!r:.80}.")


def _decode_dict(pairs, name, arrays, depth):
    out = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2):
            fail(f"{name}: a dict entry must be a [key, value] pair, got {pair!r}.")
        key = decode(pair[0], name, arrays, depth + 1)
        if not isinstance(key, (bool, int, float, str)) or key in out:
            fail(f"{name}: bad or repeated dict key {pair[0]!r}.")
        out[key] = decode(pair[1], name, arrays, depth + 1)
    return out


def _decode_array(data, name, arrays, depth):
    dtype = data["dtype"]
    if not isinstance(dtype, str) or dtype not in ARRAY_DTYPES:
        fail(f"{name}: unsupported array dtype {dtype!r}.")
    values = [decode(v, name, arrays, depth + 1) for v in data["ndarray"]]
    if not all(isinstance(v, (bool, int, float)) for v in values):
        fail(f"{name}: an array holds only numbers.")
    try:
        return np.asarray(values, dtype=dtype)
    except (OverflowError, ValueError) as exc:  # a value the dtype cannot hold
        raise FileError(f"{name}: {exc}") from exc


def _decode_random_state(state, name, arrays):
    state = fields(state, f"{name}'s RandomState", ("pos", "has_gauss", "cached_gaussian"))
    keys = arrays.get(RANDOM_STATE_KEYS)
    if keys is None:  # pragma: no cover - fastbp.io requires the array with the tag
        fail(f"{name} needs the {RANDOM_STATE_KEYS!r} array.")
    if keys.dtype.kind != "u" or keys.dtype.itemsize != 4 or keys.shape != (624,):
        fail(f"{RANDOM_STATE_KEYS} must be uint32 of shape (624,), got {keys.dtype} {keys.shape}.")
    pos, has_gauss, cached = state["pos"], state["has_gauss"], state["cached_gaussian"]
    if not (_is_int(pos) and _is_int(has_gauss) and isinstance(cached, (int, float))):
        fail(f"{name} holds a state of the wrong types {state!r}.")
    if not (0 <= pos <= 624 and 0 <= has_gauss <= 1 and math.isfinite(cached)):
        fail(f"{name} holds an impossible state {state!r}.")
    rng = np.random.RandomState()
    rng.set_state(("MT19937", keys.astype(np.uint32), pos, has_gauss, float(cached)))
    return rng


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def fields(d, name, required, optional=()):
    """``d`` if it is a JSON object with every required key and no key outside both
    lists; else a FileError naming what is missing or unexpected."""
    if not isinstance(d, dict):
        fail(f"{name} must be a JSON object, got {type(d).__name__}.")
    missing = [k for k in required if k not in d]
    if missing:
        fail(f"{name} is missing {', '.join(map(repr, missing))}.")
    unknown = sorted(set(d) - set(required) - set(optional))
    if unknown:
        fail(f"{name} has unexpected field(s) {', '.join(map(repr, unknown))}.")
    return d


def dumps(data):
    """Strict JSON text of ``data`` (no NaN or Infinity literals)."""
    return json.dumps(data, allow_nan=False, separators=(",", ":"))


def parse(raw, name):
    """The JSON object in UTF-8 bytes ``raw``, read strictly; a FileError otherwise."""
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_no_repeats
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, ours
        raise FileError(f"{name} is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        fail(f"{name} must be a JSON object, got {type(data).__name__}.")
    return data


def _no_constants(name):
    raise ValueError(f"the JSON holds {name}, which strict JSON does not allow")


def _no_repeats(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the JSON repeats the key {key!r}")
        out[key] = value
    return out
