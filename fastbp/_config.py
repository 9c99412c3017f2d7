"""Compile options for every kernel, in one place.

Every ``@njit`` function in fastbp is declared with :func:`jit`, so the options
below are the only ones in force:

- ``cache=True``: compiled code is written next to the sources and reused by
  the next process; kernels take integer codes rather than function objects so
  that one compiled kernel per dtype serves every network.
- ``nogil=True``: training threads run in parallel.
- ``fastmath`` stays off: re-associating sums changes results between runs and
  has produced NaN in other projects' training loops.
- ``error_model="numpy"``: division by zero gives inf/nan as in NumPy instead
  of raising inside compiled code.
"""

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy")

# A layer product goes through BLAS (np.dot into a preallocated buffer) when
# rows * fan_in * fan_out reaches this many multiply-adds; below it, plain loops
# are faster because they skip the BLAS call overhead (~0.1 us). The crossover is
# low because the loops are slow once there is work: without fastmath the
# reduction of backprop_messages does not vectorise and the others get no FMA.
# BLAS is faster on ~35 % of the shapes of 64-255 multiply-adds, ~70 % of 256-1023
# and ~90 % of 1024-4095. Measured with bench/crossover.py (see bench/CROSSOVER.md).
BLAS_MIN_FLOPS = 256

# Rows processed at once by the full-batch kernels (forward, loss_gradient), so
# that their work buffers stay small whatever the number of samples.
CHUNK_ROWS = 2048


def jit(func):
    """Compile ``func`` with fastbp's options."""
    return numba.njit(**JIT_OPTIONS)(func)


def jit_inline(func):
    """Compile ``func`` into the body of each kernel that calls it.

    For the per-layer steps (a product, an activation, a loss): a call between
    compiled functions passes every array as seven machine words and costs more
    than the work itself on layers of a few neurons.
    """
    return numba.njit(inline="always", **JIT_OPTIONS)(func)
