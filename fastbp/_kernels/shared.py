"""The shared kernels as the generated ones call them (``generated``): compiled once
per dtype, at set-up (``signatures``), and inlined by LLVM into each generated kernel.

A generated kernel that inlined them in Numba's IR (``config.jit_inline``) had
Numba type and lower their whole bodies again at every call site, every branch of
every activation and loss included: most of its compile time, at its first fit.
Called here, Numba only types the calls; LLVM then inlines the compiled bodies
(``config.jit_internal_inline``) and, the generated kernel's arguments being
constants, folds the branches away. The generated kernels pass their constants
as int64 (a literal would be a signature of its own).
"""

from . import activations, backward, epochs, forward, losses
from .config import jit_internal_inline


@jit_internal_inline
def gather_rows(data, rows, start, n, n_features, acts):
    forward.gather_rows(data, rows, start, n, n_features, acts)


@jit_internal_inline
def activate(buf, off, n, m, code):
    activations.activate(buf, off, n, m, code)


@jit_internal_inline
def loss_and_delta(acts, p_off, n, m, targets, rows, start, loss, out_code, deltas, d_off):
    return losses.loss_and_delta(
        acts, p_off, n, m, targets, rows, start, loss, out_code, deltas, d_off
    )


@jit_internal_inline
def backprop_derivative(acts, a_off, deltas, d_off, count, code):
    activations.backprop_derivative(acts, a_off, deltas, d_off, count, code)


@jit_internal_inline
def l2_term(params, n_coefs, alpha, S):
    return backward.l2_term(params, n_coefs, alpha, S)


@jit_internal_inline
def exact_reciprocal(S):
    return backward.exact_reciprocal(S)


@jit_internal_inline
def batch_value(total, S, reg, n, scale):
    return epochs.batch_value(total, S, reg, n, scale)
