"""The Python side's thresholds: which epoch kernel and how many BLAS threads.

The figures behind each value are in DESIGN.md ("Thresholds"); the kernels'
own compile options and their BLAS switch are in ``_kernels/config.py``.
"""

# A network trains row by row (_kernels.epochs.run_epoch_row_by_row: one sweep per
# row, no BLAS) when every layer's product for a batch is below this many
# multiply-adds, else through the batched kernel: below it, a loop over a row's
# few neurons costs less than a batched product's set-up.
ROW_BY_ROW_MAX_FLOPS = 48

# Minibatch training keeps BLAS's threads (one per core) only when some layer's
# product for a batch reaches this many multiply-adds; below it, fits run with one
# BLAS thread (_threads.one_blas_thread), where OpenBLAS's threads cost more in
# waking and waiting than they save.
BLAS_THREADS_MIN_FLOPS = 1 << 22

# Rows processed at once by the full-batch kernels (forward, loss_gradient), so
# that their work buffers stay small whatever the number of samples.
CHUNK_ROWS = 2048
