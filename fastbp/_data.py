"""Data as the kernels take it: one tuple type per dtype, dense or CSR."""

import numpy as np
import scipy.sparse as sp

_NO_INT = np.empty(0, dtype=np.int64)


def kernel_data(X, dtype):
    """Return (dense, data, indices, indptr) for ``_engine._gather_rows``.

    Dense X becomes a C-contiguous array of ``dtype`` (a copy only if needed);
    sparse X becomes CSR arrays, and the dense slot an empty (0, 0) array, so a
    single compiled kernel per dtype serves both.
    """
    if sp.issparse(X):
        X = X.tocsr()
        return (
            np.empty((0, 0), dtype=dtype),
            np.ascontiguousarray(X.data, dtype=dtype),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.indptr, dtype=np.int64),
        )
    return (
        np.ascontiguousarray(X, dtype=dtype),
        np.empty(0, dtype=dtype),
        _NO_INT,
        _NO_INT,
    )
