"""Shared kernels as the generated ones call them (``generated``): compiled once per
dtype, at set-up (``signatures``), and inlined by LLVM into each generated kernel.

Inlined in Numba's IR (``config.jit_inline``), each had Numba type and lower its
whole body again in every generated kernel, at its first fit. Called here, Numba
only types the call. The generated kernels pass their constants as int64 (a
literal would be a signature of its own). Not here: the activations and losses,
which a generated kernel inlines in Numba's IR, the one of its code only
(``activations.FORWARD``, ``losses.LOSSES``): compiled beforehand for any code and
inlined by LLVM, they ran the seed network's epoch ~25% slower (DESIGN.md).
"""

from . import backward, epochs, forward
from .config import jit_internal_inline


@jit_internal_inline
def gather_rows(data, rows, start, n, n_features, acts):
    forward.gather_rows(data, rows, start, n, n_features, acts)


@jit_internal_inline
def l2_term(params, n_coefs, alpha, S):
    return backward.l2_term(params, n_coefs, alpha, S)


@jit_internal_inline
def exact_reciprocal(S):
    return backward.exact_reciprocal(S)


@jit_internal_inline
def batch_value(total, S, reg, n, scale):
    return epochs.batch_value(total, S, reg, n, scale)
