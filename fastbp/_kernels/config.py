"""Compile options for every kernel, in one place.

Every ``@njit`` function in fastbp is declared with one of the decorators below
(``jit``, ``jit_internal``, ``jit_internal_inline``, ``jit_inline``), so the
options here are the only ones in force:

- ``cache=True``: compiled code is written to Numba's cache and reused by the next
  process (``cache``: keyed by every kernel source a kernel depends on); kernels
  take integer codes rather than function objects, so that one compiled kernel
  per dtype serves every network.
- ``nogil=True``: fits in several threads run in parallel.
- ``fastmath`` stays off: re-associating sums changes results between runs and
  has produced NaN in other projects' training loops.
- ``error_model="numpy"``: division by zero gives inf/nan as in NumPy instead of
  raising inside compiled code.
- ``_nrt=False``: no reference counting. The kernels never allocate and never
  return an array; every array they touch is held by the Python caller for the
  whole call. Numba would otherwise count references on each array at every
  function boundary, inlined ones included, with an atomic add each time: on
  the seed network that was most of an epoch's time (DESIGN.md). Even the BLAS
  products take offsets into the flat buffers (``blas.matmul``), not views.
"""

import numba

from .cache import use_kernel_cache

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", _nrt=False)

# A layer product goes through BLAS (blas.matmul) from this many multiply-adds
# (rows * fan_in * fan_out) on; below it, plain loops, which skip BLAS's fixed cost
# per call. The best single threshold over a grid of shapes (bench/crossover.py,
# bench/CROSSOVER.md; why it is this low: DESIGN.md).
BLAS_MIN_FLOPS = 32


def jit(func):
    """Compile ``func`` with fastbp's options."""
    return use_kernel_cache(numba.njit(**JIT_OPTIONS)(func))


def jit_internal(func):
    """Compile ``func`` for kernels to call, not Python: without the wrappers that let
    Python call it (less to compile)."""
    options = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, **JIT_OPTIONS)
    return use_kernel_cache(numba.njit(**options)(func))


def jit_internal_inline(func):
    """``jit_internal``, and inlined by LLVM into each caller: Numba compiles it once,
    its callers pay no call (for a kernel two kernels share, on their hot path)."""
    options = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True, forceinline=True)
    return use_kernel_cache(numba.njit(**options, **JIT_OPTIONS)(func))


def jit_inline(func):
    """Compile ``func`` into the body of each kernel that calls it.

    For the per-layer steps (a product, an activation, a loss), which on layers
    of a few neurons do less work than a call (each array argument is passed as
    seven machine words), and for thin wrappers: Numba compiles each function
    that is not inlined with a copy of everything it calls, so every wrapper level
    re-optimises its whole call tree (compile times: DESIGN.md).
    """
    return use_kernel_cache(numba.njit(inline="always", **JIT_OPTIONS)(func))
