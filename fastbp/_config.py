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
- ``_nrt=False``: no reference counting. The kernels never allocate and never
  return an array; every array they touch is held by the Python caller for the
  whole call. Numba would otherwise count references on each array at every
  function boundary, inlined ones included, with an atomic add each time: on the
  seed network (1-2-1, one row per batch) that was most of an epoch's time.
  No kernel needs it: even the BLAS products take offsets into the flat buffers
  (``_blas.matmul``) rather than array views.
"""

import numba

JIT_OPTIONS = dict(cache=True, nogil=True, fastmath=False, error_model="numpy", _nrt=False)

# A layer product goes through BLAS (_blas.matmul into a preallocated buffer) when
# rows * fan_in * fan_out reaches this many multiply-adds; below it, plain loops,
# which skip the BLAS call's fixed cost (~55 ns). The crossover is low because the
# loops are slow once there is work: without fastmath the reduction of
# backprop_messages does not vectorise and the others get no FMA. BLAS is faster on
# ~40 % of the shapes of 16-63 multiply-adds, ~80 % of 64-255 and ~90 % of
# 256-1023; 32 was the best single threshold over 2,916 shapes (bench/crossover.py,
# bench/CROSSOVER.md, last section). It was 256 while the BLAS path was np.dot on
# array views, whose fixed cost was ~0.2 us.
BLAS_MIN_FLOPS = 32

# A network trains row by row (_engine.run_epoch_row_by_row: one sweep per row, no
# BLAS) when every layer's product for a batch is below this many multiply-adds,
# else through the batched kernel (BLAS from BLAS_MIN_FLOPS on). Measured with
# Network.train_epoch on small networks, 4,000 rows, float64 (row-by-row time over
# batched): batches of one row 0.75-0.77x where the largest product was 32-36
# multiply-adds (4-8-1, 6-6-1), 1.28-1.39x from 50 on (1-50-1, 2-32-1, 8-8-8,
# 8-16-1); batches of 2-16 with products of 64-240, 1.37-2.8x. Nothing was
# measured between 36 and 50.
ROW_BY_ROW_MAX_FLOPS = 48

# Minibatch training keeps BLAS's threads (one per core) only when some layer's
# product for a batch reaches this many multiply-adds; below it, fits run with
# one BLAS thread (_threads.one_blas_thread). Measured on 2
# cores (bench/test_bench_blas_threads.py, `make bench`): the mid case (largest
# product 64 x 128 x 64 = 0.5 M) ran at 0.80x (float32) and 0.89x (float64) with
# two BLAS threads against one; the large case (128 x 784 x 256 = 25.7 M) at 1.18x
# and 1.46x (bench/RESULTS.md, run at e05f456; an earlier run: 0.73x, 0.99x, 1.04x,
# 1.34x). On a busy machine two threads on small products were far worse
# (OpenBLAS's threads wait for each other: 0.04x-0.85x of one thread).
BLAS_THREADS_MIN_FLOPS = 1 << 22

# Rows processed at once by the full-batch kernels (forward, loss_gradient), so
# that their work buffers stay small whatever the number of samples.
CHUNK_ROWS = 2048


def jit(func):
    """Compile ``func`` with fastbp's options."""
    return numba.njit(**JIT_OPTIONS)(func)


def jit_inline(func):
    """Compile ``func`` into the body of each kernel that calls it.

    For the per-layer steps (a product, an activation, a loss), which on layers
    of a few neurons do less work than a call (each array argument is passed as
    seven machine words): inlining them made the seed network's epoch ~6% faster.

    Also for thin wrappers: Numba compiles each non-inlined function together
    with a copy of everything it calls, so every wrapper level re-optimises its
    whole call tree. Removing the two levels between ``_engine.predict`` and
    ``forward_pass`` cut a cold-cache first prediction from 3.4 to 2.3 s.
    """
    return numba.njit(inline="always", **JIT_OPTIONS)(func)
