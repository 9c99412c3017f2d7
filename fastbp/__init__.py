"""fastbp: fast, exact backpropagation for multi-layer perceptrons, compiled by Numba."""

from sklearn import __version__ as _sklearn_version

from ._versions import ParityWarning, check_sklearn
from .ensemble import EnsembleClassifier, EnsembleRegressor
from .estimators import MLPClassifier, MLPRegressor
from .io import load, save
from .many import fit_many
from .migrate import from_sklearn, to_sklearn
from .network import Network
from .onnx import register_onnx_converters, to_onnx
from .plotting import plot_loss_curve

__all__ = [
    "EnsembleClassifier",
    "EnsembleRegressor",
    "GridSearchCV",
    "MLPClassifier",
    "MLPRegressor",
    "Network",
    "ParityWarning",
    "fit_many",
    "from_sklearn",
    "load",
    "plot_loss_curve",
    "register_onnx_converters",
    "save",
    "to_onnx",
    "to_sklearn",
]
__version__ = "0.1.0"

# Loaded on first use: fastbp.GridSearchCV subclasses scikit-learn's, whose module
# loads sklearn.model_selection and sklearn.metrics, which a fit never needs
# (estimators.py's docstring: the import's time counts at every start).
_LAZY = {"GridSearchCV": ".search"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


check_sklearn(_sklearn_version)  # (once: at import)
