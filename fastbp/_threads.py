"""How many BLAS threads the kernels' matrix products use, in one place.

BLAS (OpenBLAS here) splits each product across its threads, one per core. That
pays on large layers and costs on small ones, where the threads spend longer
waking up and waiting for each other than computing. The rules (their figures:
bench/RESULTS.md, "Both cores", and DESIGN.md):

- training uses one BLAS thread unless some layer's product for a batch (a
  minibatch; for lbfgs a chunk of the full batch, ``CHUNK_ROWS``) reaches
  ``BLAS_THREADS_MIN_FLOPS`` multiply-adds (``_config.py``), or none reaches
  ``BLAS_MIN_FLOPS`` (``_kernels/config.py``: then the kernels make no BLAS
  call at all);
- fits in worker threads (joblib's threading backend, Dask threads) use one BLAS
  thread each.
"""

import threading
from contextlib import contextmanager, nullcontext

from threadpoolctl import OpenBLASController, ThreadpoolController

from ._config import BLAS_THREADS_MIN_FLOPS
from ._kernels.config import BLAS_MIN_FLOPS

_BLAS = None
# The one-thread limit is process-wide (OpenBLAS has one setting), so its users
# share it: the first one in sets it, the last one out restores BLAS's threads.
_LOCK = threading.Lock()
_users = 0
_limiter = None


def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries (numpy's and
    scipy's OpenBLAS), found once: scanning the loaded libraries costs milliseconds,
    which ``threadpool_limits`` would pay on every fit."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController().select(user_api="blas")
    return _BLAS


def single_blas_thread_off_main():
    """Fits running in worker threads (joblib's threading backend, Dask threads)
    use one BLAS thread each: fits in parallel, each on every BLAS thread, ran
    slower than one after another (bench/threads.py). Fits on the main thread keep
    BLAS's own threads, which pay on large layers."""
    if threading.current_thread() is threading.main_thread():
        return nullcontext()
    return _one_thread()


def one_blas_thread(sizes, batch_size):
    """Whether training in batches of ``batch_size`` takes one BLAS thread: when
    every layer's product for a batch is below BLAS_THREADS_MIN_FLOPS multiply-adds
    (see _config.py), where splitting each product across threads costs more than
    it saves. The estimators decide once per fit, Network.train_epoch once per
    batch size; both then enter ``single_blas_thread_if``."""
    largest = max(batch_size * int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:]))
    # Below BLAS_MIN_FLOPS the kernels make no BLAS call at all, and setting the
    # threads (threadpoolctl's calls) would cost a third of a seed epoch in
    # Network.train_epoch, which sets them per epoch.
    return BLAS_MIN_FLOPS <= largest < BLAS_THREADS_MIN_FLOPS


def single_blas_thread_if(one):
    """One BLAS thread for the ``with`` block if ``one``, else BLAS as it is."""
    return _one_thread() if one else nullcontext()


@contextmanager
def _one_thread():
    """One BLAS thread while any caller is inside, in whichever threads they run.

    OpenBLAS has one process-wide setting, so its users share it: the first one in
    sets it, the last one out (maybe another thread) restores BLAS's threads.
    Each caller restoring what it found, as nested threadpoolctl limits do, is
    wrong for fits overlapping in threads: the second one in finds one thread and,
    out last, leaves BLAS on one thread for the rest of the process. threadpoolctl
    (>= 3.6) also lets only one Python thread at a time change OpenBLAS's threads,
    the last one that did, until it gives that up: fastbp gives it up after each
    change, so that the thread out last can restore.
    """
    global _users, _limiter
    if all(
        getattr(lib, "threading_layer", None) == "openmp"
        for lib in blas_controller().lib_controllers
    ):
        # OpenBLAS built on OpenMP: its limits are per thread, each caller its own
        with blas_controller().limit(limits=1):
            yield
        return
    with _LOCK:
        if _users == 0:
            _limiter = blas_controller().limit(limits=1)
            _release_control()
        _users += 1
    try:
        yield
    finally:
        with _LOCK:
            _users -= 1
            if _users == 0:
                # unless someone else changed them meanwhile (e.g. a threadpoolctl
                # limit of the user's that was active when the first one came in)
                if all(lib["num_threads"] == 1 for lib in blas_controller().info()):
                    _limiter.restore_original_limits()
                _release_control()
                _limiter = None


def _release_control():
    """Let other Python threads change OpenBLAS's threads (threadpoolctl >= 3.6)."""
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear()
