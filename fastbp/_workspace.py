"""A fit's arrays in one compiled record, so that epochs take no array arguments.

Numba wraps every array argument of a compiled call in a new runtime object;
an epoch called with a dozen arrays would allocate a dozen times per epoch.
A ``Workspace`` is built once per fit and handed to each epoch whole, so the
number of Numba runtime allocations of a fit does not grow with its epochs.

Fields:
  X, X_data, X_indices, X_indptr  the data as ``_data.kernel_data`` makes it
  Y, sw                           targets (n, n_outputs) and sample weights
  rows                            the current epoch's row order (Python writes it)
  val_rows, val_out               validation rows and their outputs
  params, table, state            parameters, their layer table, optimizer buffers
  acts, deltas, grad, tmp         work buffers for batches of ``cap`` rows

With ``NUMBA_DISABLE_JIT=1`` the same fields live on a plain Python object.
"""

import numpy as np
from numba.core import types
from numba.core.config import DISABLE_JIT
from numba.experimental import structref

from ._config import jit_nrt

FIELDS = [
    "X",
    "X_data",
    "X_indices",
    "X_indptr",
    "Y",
    "sw",
    "rows",
    "val_rows",
    "val_out",
    "params",
    "table",
    "state",
    "acts",
    "deltas",
    "grad",
    "tmp",
]


@structref.register
class WorkspaceType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


if DISABLE_JIT:

    class Workspace:
        def __init__(self, *arrays):
            for name, value in zip(FIELDS, arrays, strict=True):
                setattr(self, name, value)

else:

    class Workspace(structref.StructRefProxy):
        def __new__(cls, *arrays):
            return structref.StructRefProxy.__new__(cls, *arrays)

        # Python reads these (as NumPy arrays sharing the record's memory).
        rows = property(lambda self: _get_rows(self))
        val_out = property(lambda self: _get_val_out(self))

    structref.define_proxy(Workspace, WorkspaceType, FIELDS)


@jit_nrt
def _get_rows(w):
    return w.rows


@jit_nrt
def _get_val_out(w):
    return w.val_out


if DISABLE_JIT:
    _new_workspace = Workspace
else:

    @jit_nrt
    def _new_workspace(X, X_data, X_indices, X_indptr, Y, sw, rows, val_rows, val_out, params,
                       table, state, acts, deltas, grad, tmp):  # fmt: skip
        # Workspace(...) from Python compiles its constructor in every new process
        # (Numba does not cache it: ~0.5 s, most of a warm-cache fit); called from
        # here, the constructor is compiled once into this function, which is cached.
        return Workspace(X, X_data, X_indices, X_indptr, Y, sw, rows, val_rows, val_out, params,
                         table, state, acts, deltas, grad, tmp)  # fmt: skip


def make_workspace(data, Y, sw, params, table, state, acts, deltas, grad, tmp, val_rows=None):
    """Build a Workspace; ``data`` is the tuple from ``_data.kernel_data``."""
    n_val = 0 if val_rows is None else val_rows.shape[0]
    val_rows = np.zeros(0, np.int64) if val_rows is None else val_rows.astype(np.int64)
    val_out = np.empty((n_val, Y.shape[1]), dtype=params.dtype)
    rows = np.arange(Y.shape[0], dtype=np.int64)
    return _new_workspace(
        *data, Y, sw, rows, val_rows, val_out, params, table, state, acts, deltas, grad, tmp
    )
