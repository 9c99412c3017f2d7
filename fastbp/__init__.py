"""fastbp: fast, exact backpropagation for multi-layer perceptrons, compiled by Numba."""

from .network import Network

__all__ = ["Network"]
__version__ = "0.1.0"
