"""The fixed cost of a fit: plain NumPy inputs checked directly, parameters checked
once, a seeded RandomState built without a throwaway seeding.

scikit-learn's validation is generic (data frames, array API namespaces, sparse
matrices, label types by inspection): on a 150-row fit it is most of the time
a fit takes outside its epochs. For the inputs where its answer is known in
advance, a first fit's plain float ``X`` and numeric (or, for classifiers,
string) ``y``, the functions here give the same result directly. For every
other input they return None and the estimator runs scikit-learn's validation,
which decides, and raises its own errors: nothing is refused here.
"""

import numbers
from functools import cache

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from sklearn.utils import check_random_state

_X_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def plain_X_y(est, X, y, labels):
    """``(X, y)`` as ``validate_data(est, X, y, reset=True, multi_output=True,
    dtype=(float64, float32), ...)`` returns them, with its side effects on ``est``
    (``n_features_in_`` set, ``feature_names_in_`` removed), when X and y are plain
    ndarrays it passes through unchanged; else None. ``labels``: y holds class labels
    (strings allowed) rather than numbers."""
    if type(X) is not np.ndarray or type(y) is not np.ndarray:
        return None
    if X.ndim != 2 or X.dtype not in _X_DTYPES or X.shape[0] < 1 or X.shape[1] < 1:
        return None
    # a y of one column: column_or_1d's warning; of none: check_array's error
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1)) or y.shape[0] != X.shape[0]:
        return None
    # (a byte order not the machine's: scikit-learn's classes_ come out native)
    if y.dtype.kind not in ("biufU" if labels else "biuf") or not y.dtype.isnative:
        return None
    if not np.isfinite(X).all() or (y.dtype.kind == "f" and not np.isfinite(y).all()):
        return None
    est.n_features_in_ = X.shape[1]
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return X, y


def binarized(lb, y):
    """``y``'s classes fitted into the LabelBinarizer ``lb`` and y binarized as
    ``lb.fit(y).transform(y).astype(bool)`` gives them, for a 1-D ``y`` of integer,
    boolean or string labels with two classes or more (from ``plain_X_y``); else None."""
    if y.ndim != 1 or y.dtype.kind not in "biuU":
        return None
    classes = np.unique(y)
    if classes.dtype.kind == "U":  # unique_labels' strings: as long as the longest label
        classes = np.asarray(classes.tolist())
    if classes.shape[0] < 2:  # (one class: label_binarize's own column of zeros)
        return None
    lb.y_type_ = "binary" if classes.shape[0] == 2 else "multiclass"
    lb.sparse_input_ = False
    lb.classes_ = classes
    if classes.shape[0] == 2:
        return (y == classes[1]).reshape(-1, 1)
    return y[:, None] == classes[None, :]


def parameters_key(est):
    """A key for ``est``'s parameters by value and type, when all are plain Python
    scalars or tuples of them (so that equal keys pass or fail the same checks); else
    None. A key already validated need not be again."""
    items = []
    for name in _parameter_names(type(est)):
        value = getattr(est, name)
        if type(value) is tuple:
            if not all(type(v) in _SCALARS for v in value):
                return None
            value = tuple((type(v), v) for v in value)
        elif type(value) not in _SCALARS:
            return None
        items.append((name, type(value), value))
    return (type(est), tuple(items))


_SCALARS = (int, float, str, bool, type(None))


@cache
def _parameter_names(cls):
    return cls._get_param_names()  # (from the signature of __init__: slow)


# parameters_key's keys of parameters that passed scikit-learn's checks
_VALIDATED = set()


def validate_parameters(est, validate):
    """``validate()`` (scikit-learn's ``_validate_params``), unless ``est``'s
    parameters passed it before."""
    key = parameters_key(est)
    if key is None or key not in _VALIDATED:
        validate()
        if key is not None and len(_VALIDATED) < 1024:
            _VALIDATED.add(key)


def random_state(seed):
    """``sklearn.utils.check_random_state(seed)``: the same generator, built faster for
    an integer seed. ``RandomState(seed)`` first seeds a new MT19937 from the OS's
    entropy, hashing it into 624 words (~70 us here), then overwrites that state
    with the legacy seeding of ``seed``; here the throwaway state is zeros, the rest
    the same calls (``_legacy_seeding`` raises RandomState's own error for a seed
    outside [0, 2**32))."""
    if not isinstance(seed, numbers.Integral):
        return check_random_state(seed)
    bit_generator = np.random.MT19937(_NO_ENTROPY)
    bit_generator._legacy_seeding(seed)
    return np.random.RandomState(bit_generator)


class _Zeros(ISeedSequence):
    """A seed sequence of zeros: the state an MT19937 holds until it is reseeded."""

    def generate_state(self, n_words, dtype=np.uint32):
        return np.zeros(n_words, dtype=dtype)


_NO_ENTROPY = _Zeros()
