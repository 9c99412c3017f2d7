"""fastbp: fast, exact backpropagation for multi-layer perceptrons, compiled by Numba."""

from .estimators import MLPClassifier, MLPRegressor
from .network import Network

__all__ = ["MLPClassifier", "MLPRegressor", "Network"]
__version__ = "0.1.0"
