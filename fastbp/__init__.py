"""fastbp: fast, exact backpropagation for multi-layer perceptrons, compiled by Numba."""

from .estimators import MLPClassifier, MLPRegressor
from .io import load, save
from .network import Network
from .plotting import plot_loss_curve

__all__ = ["MLPClassifier", "MLPRegressor", "Network", "load", "plot_loss_curve", "save"]
__version__ = "0.1.0"
