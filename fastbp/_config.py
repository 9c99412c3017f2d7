"""The Python side's thresholds: how many BLAS threads, and how many rows at once.

The figures behind each value are in DESIGN.md ("Thresholds"); the kernels'
own compile options and their BLAS switch are in ``_kernels/config.py``.
"""

# Minibatch training keeps BLAS's threads (one per core) only when some layer's
# product for a batch reaches this many multiply-adds; below it, fits run with one
# BLAS thread (_threads.one_blas_thread), where OpenBLAS's threads cost more in
# waking and waiting than they save.
BLAS_THREADS_MIN_FLOPS = 1 << 22

# Rows processed at once by the full-batch kernels (forward, loss_gradient), so
# that their work buffers stay small whatever the number of samples.
CHUNK_ROWS = 2048

# A whole fit (``_kernels/fits``) runs in calls of as many epochs as last about this
# many seconds: Ctrl-C, held during a call, is answered within twice that.
EPOCHS_CALL_S = 0.02
# and at most this many epochs per call (their losses are buffered)
EPOCHS_CALL_MAX = 4096
