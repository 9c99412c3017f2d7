"""BLAS's matrix products on blocks of the flat buffers, without array views.

``matmul`` computes C = op(A) @ op(B) for dense row-major blocks of 1-D buffers,
each given as (buffer, offset), with the BLAS function ``np.dot`` would choose
(gemm; gemv when C is one row or one column; dot when C is one number): the
same calls as Numba's ``np.dot``, so the same results, bit for bit. They are
scipy's BLAS, reached through Numba's C helpers (``numba_xxgemm`` and the
others), as ``np.dot`` reaches them in compiled code.

Why not ``np.dot`` on reshaped views: a view of a flat buffer is a new array,
which needs Numba's reference counting (an atomic add and subtract per view per
call) and so a separately compiled function to hold it; ``np.dot`` adds shape
and layout checks; and every kernel that calls it compiles (and re-optimises)
its implementation, seconds of a cold cache (DESIGN.md).

BLAS is column-major: a row-major block of R rows and C columns is, to BLAS, a
C x R matrix with leading dimension C, its transpose. So the row-major product
C = op(A) @ op(B) is the column-major C^T = op(B)^T @ op(A)^T, and ``matmul``
swaps the operands, as Numba's ``np.dot`` does.
"""

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

from .config import jit_inline

_KINDS = {types.float32: "s", types.float64: "d"}


@jit_inline
def matmul(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):
    """C = op(A) @ op(B), C (m x n) at c[c_off:], op(A) (m x k) and op(B) (k x n): op(X) is
    X, stored at x[x_off:] row-major and dense, or when trans_x its transpose (X
    stored k x m, or n x k). Raises RuntimeError if scipy's BLAS cannot be loaded."""
    if m == 1 and n == 1:
        status = _xxdot(k, a, a_off, b, b_off, c, c_off)
    elif n == 1:  # matrix @ vector: A stored m x k, or k x m
        if trans_a:
            status = _xxgemv(False, m, k, a, a_off, m, b, b_off, c, c_off)
        else:
            status = _xxgemv(True, k, m, a, a_off, k, b, b_off, c, c_off)
    elif m == 1:  # vector @ matrix: B stored k x n, or n x k
        if trans_b:
            status = _xxgemv(True, k, n, b, b_off, k, a, a_off, c, c_off)
        else:
            status = _xxgemv(False, n, k, b, b_off, n, a, a_off, c, c_off)
    else:
        status = _xxgemm(
            trans_b,
            trans_a,
            n,
            m,
            k,
            b,
            b_off,
            k if trans_b else n,
            a,
            a_off,
            m if trans_a else k,
            c,
            c_off,
            n,
        )
    if status != 0:
        raise RuntimeError("BLAS could not be loaded from scipy.linalg.cython_blas")


def _signature(helper, layout, args):
    """The typing of an intrinsic calling Numba's C helper ``helper`` (e.g.
    "numba_xxgemm"), whose C arguments after ``kind`` follow ``layout``: "t" a
    transpose flag (from a bool), "z" the char 0 (no argument), "i" an integer,
    "p" a pointer into a buffer (from two arguments: a 1-D array and an offset),
    "1" and "0" pointers to the constants 1 and 0 (alpha, beta). The intrinsic
    takes ``args`` in that order and returns the helper's status (0: done; -1: the
    BLAS function could not be loaded)."""
    ensure_blas()  # as np.dot: an ImportError at compile time without scipy
    arrays, pos = [], 0
    for c in layout:
        if c == "p":
            arrays.append(args[pos])
        pos += 2 if c == "p" else 0 if c in "01z" else 1
    assert pos == len(args), (helper, layout)
    # contiguous 1-D buffers only: the pointer arithmetic assumes unit strides
    if not all(isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C" for x in arrays):
        return None
    dtype = arrays[0].dtype
    if dtype not in _KINDS or any(x.dtype != dtype for x in arrays):
        return None
    return types.int32(*args), _codegen(helper, layout, dtype)


def _codegen(helper, layout, dtype):
    def codegen(context, builder, sig, args):
        char, void_p = ir.IntType(8), ir.IntType(8).as_pointer()
        intp = context.get_value_type(types.intp)
        values, types_ = list(args), list(sig.args)
        c_args = [ir.Constant(char, ord(_KINDS[dtype]))]
        for c in layout:
            if c in "01":
                slot = cgutils.alloca_once_value(builder, context.get_constant(dtype, int(c)))
                c_args.append(builder.bitcast(slot, void_p))
                continue
            if c == "z":
                c_args.append(ir.Constant(char, 0))
                continue
            value, ty = values.pop(0), types_.pop(0)
            if c == "t":
                flag = context.cast(builder, value, ty, types.boolean)
                c_args.append(
                    builder.select(flag, ir.Constant(char, ord("t")), ir.Constant(char, ord("n")))
                )
            elif c == "i":
                c_args.append(context.cast(builder, value, ty, types.intp))
            else:  # "p"
                data = context.make_array(ty)(context, builder, value).data
                off, off_ty = values.pop(0), types_.pop(0)
                ptr = builder.gep(data, [context.cast(builder, off, off_ty, types.intp)])
                c_args.append(builder.bitcast(ptr, void_p))
        fnty = ir.FunctionType(
            ir.IntType(32),
            [char] + [char if c in "tz" else intp if c == "i" else void_p for c in layout],
        )
        fn = cgutils.get_or_insert_function(builder.module, fnty, helper)
        return builder.call(fn, c_args)

    return codegen


# Column-major BLAS, with the arguments of Numba's helpers (numba/_helperlib.c).


@intrinsic
def _xxgemm(typingctx, transa, transb, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc):
    """gemm(kind, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)"""
    args = (transa, transb, m, n, k, a, a_off, lda, b, b_off, ldb, c, c_off, ldc)
    return _signature("numba_xxgemm", "ttiii1pipi0pi", args)


@intrinsic
def _xxgemv(typingctx, trans, m, n, a, a_off, lda, x, x_off, y, y_off):
    """gemv(kind, trans, m, n, alpha, a, lda, x, beta, y), unit strides"""
    args = (trans, m, n, a, a_off, lda, x, x_off, y, y_off)
    return _signature("numba_xxgemv", "tii1pip0p", args)


@intrinsic
def _xxdot(typingctx, n, x, x_off, y, y_off, out, out_off):
    """dot(kind, conjugate, n, x, y, out), conjugate 0 (a real dtype)"""
    return _signature("numba_xxdot", "zippp", (n, x, x_off, y, y_off, out, out_off))


if config.DISABLE_JIT:  # plain Python (the test suite's second run): NumPy on views

    def matmul(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):  # noqa: F811
        A = a[a_off : a_off + m * k].reshape((k, m) if trans_a else (m, k))
        B = b[b_off : b_off + k * n].reshape((n, k) if trans_b else (k, n))
        C = c[c_off : c_off + m * n].reshape((m, n))
        np.dot(A.T if trans_a else A, B.T if trans_b else B, C)
