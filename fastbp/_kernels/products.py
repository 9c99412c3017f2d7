"""Small float64 matrix products in OpenBLAS's own order, without calling BLAS.

scikit-learn's products are NumPy's, that is OpenBLAS's dgemm. On the small layers
of small data sets (iris: 150 x 4 x 100) most of BLAS's time is its fixed cost per
call and the packing of both operands, and products whose C has 3 columns run on
its narrowest kernels. Here such products are computed with the same operations
in the same order as OpenBLAS's Haswell kernel (dgemm_kernel_4x8_haswell.S), so
with the same bits, from the operands where they lie:

- each entry of C is one chain of fused multiply-adds over k in order, from +0:
  C[i, j] = fma(A[i, k-1], B[k-1, j], ... fma(A[i, 0], B[0, j], 0));
- but for the last row of C when C has an odd number of rows (OpenBLAS's "N"
  tail of one), whose entries in the blocks of 4 columns sum in 4 chains: term p
  of the first k - k % 8 into chain p % 4, the rest into chain 0, then
  (c0 + c1) + (c2 + c3); its last n % 4 entries are one chain again.

That holds while OpenBLAS takes each product in one block and on one thread:
k <= 256 (DGEMM_DEFAULT_Q; longer sums are split and the parts added) and
m * n * k <= 4 * 65536 (below that OpenBLAS never splits a product across
threads, whatever their number), and for products that are a gemm, not a gemv
(m, n >= 2). Whether the loaded OpenBLAS runs that kernel is decided once per
process (``available``: both NumPy's and scipy's OpenBLAS on their Haswell
kernels) and handed to the kernels as ``Work.own_products``; float32 products
(sgemm's kernel has other tails) always go to BLAS. tests/test_products.py
compares these products with NumPy's on thousands of shapes.

The work is done by register tiles written in LLVM's IR (``_tile``): R rows of
C by V vectors of W lanes, held in registers over the whole sum, each call of an
intrinsic sweeping a band of C in tiles of 8 lanes, then 4, 2, 1 (``_sweep_codegen``).
Where C has 4
columns or more the lanes run along C's rows; where it has 2 or 3 they run down
its columns: A's rows read as vectors when A is stored transposed (the weight
gradient A^T D of a 3-class output layer), else blocks of 4 rows by 4 terms of A
transposed in registers (``_transposed_tile``: the output layer's product). A
product A @ B^T (the backward messages D W^T) first writes B^T into the scratch
buffer.
"""

from functools import partial

from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

from .config import jit_inline
from .vectors import _index, _load, _pointer, _splat, _store

MAX_K = 256
MAX_MNK = 4 * 65536
_FLOATS = {types.float64: ir.DoubleType(), types.float32: ir.FloatType()}


@jit_inline
def fits(m, n, k):
    """Whether OpenBLAS computes the m x n x k product C as described above."""
    return m >= 2 and n >= 2 and k <= MAX_K and m * n * k <= MAX_MNK


@jit_inline
def small_matmul(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off, tmp):
    """C = op(A) @ op(B) as ``blas.matmul`` takes them, in OpenBLAS's order (``fits``
    must hold; float64). ``tmp`` is scratch of at least n * k entries when trans_b."""
    if trans_b:  # op(B) = B^T, B stored n x k: written out k x n
        for j in range(n):
            for p in range(k):
                tmp[p * n + j] = b[b_off + j * k + p]
    # (one call for both: each call is a copy of every tile)
    B, B_off = (tmp, 0) if trans_b else (b, b_off)
    # op(A)[i, p] = a[a_off + i * a_row + p * a_col]
    a_row, a_col = (1, m) if trans_a else (k, 1)
    even = m - m % 2
    if trans_a and n < 4:  # lanes down C's columns, A's rows read as vectors
        if n == 3:
            _sweep_3(k, even, a, a_off, m, B, B_off, 1, n, c, c_off, 1, n)
        else:
            _sweep_2(k, even, a, a_off, m, B, B_off, 1, n, c, c_off, 1, n)
    elif n < 4:  # lanes down C's columns, 4 x 4 blocks of A transposed in registers
        fours = even - even % 4
        if n == 3:
            _transposed_3(k, fours, a, a_off, k, B, B_off, c, c_off)
        else:
            _transposed_2(k, fours, a, a_off, k, B, B_off, c, c_off)
        if fours < even:
            _along_rows(2, fours, n, k, a, a_off, k, 1, B, B_off, c, c_off)
    else:  # lanes along C's rows, 4 rows at a time
        fours = even - even % 4
        for i in range(0, fours, 4):
            _along_rows(4, i, n, k, a, a_off, a_row, a_col, B, B_off, c, c_off)
        if fours < even:
            _along_rows(2, fours, n, k, a, a_off, a_row, a_col, B, B_off, c, c_off)
    if even < m:
        _last_row(m - 1, n, k, a, a_off, a_row, a_col, B, B_off, c, c_off)


@jit_inline
def _along_rows(rows, i, n, k, a, a_off, a_row, a_col, b, b_off, c, c_off):
    """C's rows i .. i + rows - 1 (rows 4 or 2, a constant at each call), lanes along
    them (B stored k x n)."""
    y = a_off + i * a_row
    if rows == 4:
        _sweep_4(k, n, b, b_off, n, a, y, a_row, a_col, c, c_off + i * n, n, 1)
    else:
        _sweep_2(k, n, b, b_off, n, a, y, a_row, a_col, c, c_off + i * n, n, 1)


@jit_inline
def _last_row(i, n, k, a, a_off, a_row, a_col, b, b_off, c, c_off):
    """C's row i, the last of an odd number: OpenBLAS's 4 x 1 tail on the blocks of 4
    columns, then its 2 x 1 and 1 x 1 tails, one chain each."""
    y = a_off + i * a_row
    n4 = n - n % 4
    for j in range(0, n4, 4):
        _row_of_4(k, b, b_off + j, n, a, y, a_col, c, c_off + i * n + j)
    for j in range(n4, n):
        s = 0.0
        for p in range(k):
            s = _fma(a[y + p * a_col], b[b_off + p * n + j], s)
        c[c_off + i * n + j] = s


@intrinsic
def _fma(typingctx, x, y, z):
    """x * y + z rounded once (LLVM's fma, a machine instruction where there is one)."""
    f8 = types.float64

    def codegen(context, builder, sig, args):
        values = [context.cast(builder, v, t, f8) for v, t in zip(args, sig.args)]
        f = ir.DoubleType()
        fnty = ir.FunctionType(f, [f] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64")
        return builder.call(fn, values)

    return f8(x, y, z), codegen


def _float_buffers(*arrays):
    """1-D contiguous buffers of one float dtype (float32 too: kernels of either dtype
    compile the same calls; the float32 ones are compiled empty, never run)."""
    return all(
        isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C" and t.dtype in _FLOATS
        for t in arrays
    ) and all(t.dtype == arrays[0].dtype for t in arrays)


def _sweep_typing(R):
    def typing(typingctx, k, lanes, x, x_off, x_step, y, y_off, y_row, y_step, c, c_off, c_row,
               c_lane):  # fmt: skip
        if not _float_buffers(x, y, c):
            return None
        sig = types.none(k, lanes, x, x_off, x_step, y, y_off, y_row, y_step, c, c_off, c_row,
                         c_lane)  # fmt: skip
        return sig, _sweep_codegen(R)

    return typing


def _sweep_codegen(R):
    """R rows of C by ``lanes`` entries along the lanes' axis, in tiles: of 8 lanes (two
    vectors of 4), then of 4, 2 and 1 for what is left. A tile ``q`` lanes on reads x
    from x_off + q and writes c from c_off + q * c_lane; its operands: ``_tile``."""

    def codegen(context, builder, sig, args):
        if sig.args[2].dtype != types.float64:  # never run: float32 products are BLAS's
            return context.get_dummy_value()

        integer = partial(_index, context, builder, sig, args)

        intp = context.get_value_type(types.intp)
        k, lanes, x_step, y_row, y_step, c_row, c_lane = (
            integer(j) for j in (0, 1, 4, 7, 8, 11, 12)
        )
        x, y, c = (_pointer(context, builder, sig, args, j, j + 1) for j in (2, 5, 9))

        def tile(q, V, W):
            at_x, at_c = builder.gep(x, [q]), builder.gep(c, [builder.mul(q, c_lane)])
            _tile(builder, intp, R, V, W, k, at_x, x_step, y, y_row, y_step, at_c, c_row, c_lane)

        eight = ir.Constant(intp, 8)
        blocks = builder.udiv(lanes, eight)  # lanes >= 0
        with cgutils.for_range(builder, blocks) as loop:
            tile(builder.mul(loop.index, eight), 2, 4)
        done = cgutils.alloca_once_value(builder, builder.mul(blocks, eight))
        for W in (4, 2, 1):
            q = builder.load(done)
            end = builder.add(q, ir.Constant(intp, W))
            with builder.if_then(builder.icmp_signed("<=", end, lanes)):
                tile(q, 1, W)
                builder.store(end, done)
        return context.get_dummy_value()

    return codegen


def _tile(builder, intp, R, V, W, k, x, x_step, y, y_row, y_step, c, c_row, c_lane):
    """An R x (V * W) tile of C, its R * V vectors of W float64 lanes kept in registers:

        acc[r][v] = fma(y[r * y_row + p * y_step], x[p * x_step + v * W:][:W], acc[r][v])
                    for p = 0 .. k - 1, from +0,

    then lane l of acc[r][v] stored at c[r * c_row + (v * W + l) * c_lane] (as vectors
    when c_lane is 1); x, y and c are pointers."""
    vector, fma = _vector_fma(builder, types.float64, W)
    acc = [
        [cgutils.alloca_once_value(builder, ir.Constant(vector, None)) for _ in range(V)]
        for _ in range(R)
    ]
    with cgutils.for_range(builder, k) as loop:
        at_x = builder.mul(loop.index, x_step)
        xs = [
            _load(builder, x, builder.add(at_x, ir.Constant(intp, v * W)), vector) for v in range(V)
        ]
        at_y = builder.mul(loop.index, y_step)
        for r in range(R):
            here = builder.add(at_y, builder.mul(ir.Constant(intp, r), y_row))
            splat = _splat(builder, builder.load(builder.gep(y, [here])), vector)
            for v in range(V):
                new = builder.call(fma, [splat, xs[v], builder.load(acc[r][v])])
                builder.store(new, acc[r][v])
    dense, i32 = builder.icmp_signed("==", c_lane, ir.Constant(intp, 1)), ir.IntType(32)
    with builder.if_else(dense) as (along, across):
        with along:
            for r in range(R):
                row = builder.mul(ir.Constant(intp, r), c_row)
                for v in range(V):
                    at = builder.add(row, ir.Constant(intp, v * W))
                    _store(builder, builder.load(acc[r][v]), c, at, vector)
        with across:
            for r in range(R):
                row = builder.mul(ir.Constant(intp, r), c_row)
                for v in range(V):
                    value = builder.load(acc[r][v])
                    for lane in range(W):
                        step = builder.mul(ir.Constant(intp, v * W + lane), c_lane)
                        entry = builder.extract_element(value, ir.Constant(i32, lane))
                        builder.store(entry, builder.gep(c, [builder.add(row, step)]))


@intrinsic
def _row_of_4(typingctx, k, x, x_off, x_step, y, y_off, y_step, c, c_off):
    """4 entries of a row of C in OpenBLAS's 4 x 1 order (module docstring): chain q
    (a vector of the 4) takes the terms p = q mod 4 of the first k - k % 8, chain 0
    the rest; the x and y operands as in ``_tile_codegen``."""
    if not _float_buffers(x, y, c):
        return None
    return types.none(k, x, x_off, x_step, y, y_off, y_step, c, c_off), _row_of_4_codegen


def _row_of_4_codegen(context, builder, sig, args):
    if sig.args[1].dtype != types.float64:  # never run: float32 products are BLAS's
        return context.get_dummy_value()

    integer = partial(_index, context, builder, sig, args)

    intp = context.get_value_type(types.intp)
    vector, fma = _vector_fma(builder, sig.args[1].dtype, 4)
    k, x_step, y_step = integer(0), integer(3), integer(6)
    x, y, c = (_pointer(context, builder, sig, args, j, j + 1) for j in (1, 4, 7))
    acc = [cgutils.alloca_once_value(builder, ir.Constant(vector, None)) for _ in range(4)]

    def term(p, chain):
        scalar = builder.load(builder.gep(y, [builder.mul(p, y_step)]))
        xs = _load(builder, x, builder.mul(p, x_step), vector)
        new = builder.call(fma, [_splat(builder, scalar, vector), xs, builder.load(chain)])
        builder.store(new, chain)

    eight = ir.Constant(intp, 8)
    k8 = builder.mul(builder.udiv(k, eight), eight)  # k >= 0
    with cgutils.for_range(builder, builder.udiv(k8, ir.Constant(intp, 4))) as loop:
        p = builder.mul(loop.index, ir.Constant(intp, 4))
        for q in range(4):
            term(builder.add(p, ir.Constant(intp, q)), acc[q])
    with cgutils.for_range_slice(builder, k8, k, ir.Constant(intp, 1), inc=True) as (p, _):
        term(p, acc[0])
    c0, c1, c2, c3 = (builder.load(chain) for chain in acc)
    total = builder.fadd(builder.fadd(c0, c1), builder.fadd(c2, c3))
    _store(builder, total, c, ir.Constant(intp, 0), vector)
    return context.get_dummy_value()


def _vector_fma(builder, dtype, W):
    """The vector type of W lanes of ``dtype`` and LLVM's fma on it."""
    vector = ir.VectorType(_FLOATS[dtype], W)
    suffix = "f64" if dtype == types.float64 else "f32"
    fnty = ir.FunctionType(vector, [vector] * 3)
    return vector, cgutils.get_or_insert_function(builder.module, fnty, f"llvm.fma.v{W}{suffix}")


def _transposed_typing(R):
    def typing(typingctx, k, rows, a, a_off, a_row, b, b_off, c, c_off):
        if not _float_buffers(a, b, c):
            return None
        sig = types.none(k, rows, a, a_off, a_row, b, b_off, c, c_off)
        return sig, _transposed_codegen(R)

    return typing


def _transposed_codegen(R):
    """``rows`` rows (a multiple of 4) of C of R columns (2 or 3), lanes down the columns,
    from A's rows (``a_row`` apart) and B (stored k x R), in tiles of 8 rows, then one
    of 4 if left (``_transposed_tile``)."""

    def codegen(context, builder, sig, args):
        if sig.args[2].dtype != types.float64:  # never run: float32 products are BLAS's
            return context.get_dummy_value()

        integer = partial(_index, context, builder, sig, args)

        intp = context.get_value_type(types.intp)
        k, rows, a_row = integer(0), integer(1), integer(4)
        a, b, c = (_pointer(context, builder, sig, args, j, j + 1) for j in (2, 5, 7))

        def tile(i, V):
            at_a = builder.gep(a, [builder.mul(i, a_row)])
            at_c = builder.gep(c, [builder.mul(i, ir.Constant(intp, R))])
            _transposed_tile(builder, intp, R, V, k, at_a, a_row, b, at_c)

        eight = ir.Constant(intp, 8)
        blocks = builder.udiv(rows, eight)  # rows >= 0
        with cgutils.for_range(builder, blocks) as loop:
            tile(builder.mul(loop.index, eight), 2)
        done = builder.mul(blocks, eight)
        with builder.if_then(builder.icmp_signed("<", done, rows)):
            tile(done, 1)
        return context.get_dummy_value()

    return codegen


def _transposed_tile(builder, intp, R, V, k, a, a_row, b, c):
    """4 V rows of C by its R columns: acc[j][v] holds C[4 v .. 4 v + 3, j], one chain
    over p each, as ``_tile``'s; A's values for 4 rows and 4 steps of p are loaded as 4
    vectors along p and transposed in registers (shuffles: exact). a, b and c are
    pointers to the tile's first row of A, to B, and to the tile's first row of C."""
    vector, fma = _vector_fma(builder, types.float64, 4)
    acc = [
        [cgutils.alloca_once_value(builder, ir.Constant(vector, None)) for _ in range(V)]
        for _ in range(R)
    ]

    def const(x):
        return ir.Constant(intp, x)

    def shuffle(x, y, mask):
        return builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(ir.IntType(32), 4), mask))

    def step(p, columns):  # columns[v]: A[4 v + r, p] in lane r
        for j in range(R):
            at = builder.add(builder.mul(p, const(R)), const(j))  # B[p, j]
            splat = _splat(builder, builder.load(builder.gep(b, [at])), vector)
            for v in range(V):
                new = builder.call(fma, [columns[v], splat, builder.load(acc[j][v])])
                builder.store(new, acc[j][v])

    def row_start(v, r):
        return builder.mul(const(4 * v + r), a_row)

    four = const(4)
    k4 = builder.mul(builder.udiv(k, four), four)  # k >= 0
    with cgutils.for_range(builder, builder.udiv(k, four)) as loop:
        p = builder.mul(loop.index, four)
        by_step = [[], [], [], []]
        for v in range(V):
            r0, r1, r2, r3 = (
                _load(builder, a, builder.add(row_start(v, r), p), vector) for r in range(4)
            )
            t0, t1 = shuffle(r0, r1, [0, 4, 2, 6]), shuffle(r0, r1, [1, 5, 3, 7])
            t2, t3 = shuffle(r2, r3, [0, 4, 2, 6]), shuffle(r2, r3, [1, 5, 3, 7])
            by_step[0].append(shuffle(t0, t2, [0, 1, 4, 5]))
            by_step[1].append(shuffle(t1, t3, [0, 1, 4, 5]))
            by_step[2].append(shuffle(t0, t2, [2, 3, 6, 7]))
            by_step[3].append(shuffle(t1, t3, [2, 3, 6, 7]))
        for q in range(4):
            step(builder.add(p, const(q)), by_step[q])
    with cgutils.for_range_slice(builder, k4, k, const(1), inc=True) as (p, _):
        columns = []
        for v in range(V):
            column = ir.Constant(vector, ir.Undefined)
            for r in range(4):
                value = builder.load(builder.gep(a, [builder.add(row_start(v, r), p)]))
                column = builder.insert_element(column, value, ir.Constant(ir.IntType(32), r))
            columns.append(column)
        step(p, columns)
    for j in range(R):
        for v in range(V):
            value = builder.load(acc[j][v])
            for r in range(4):
                at = const((4 * v + r) * R + j)
                entry = builder.extract_element(value, ir.Constant(ir.IntType(32), r))
                builder.store(entry, builder.gep(c, [at]))


_sweep_4 = intrinsic(_sweep_typing(4))
_sweep_3 = intrinsic(_sweep_typing(3))
_sweep_2 = intrinsic(_sweep_typing(2))
_transposed_3 = intrinsic(_transposed_typing(3))
_transposed_2 = intrinsic(_transposed_typing(2))


_AVAILABLE = None


def available():
    """Whether the kernels may compute small float64 products themselves: when every
    BLAS loaded (NumPy's, whose products scikit-learn's are, and scipy's, which the
    kernels call otherwise) is OpenBLAS on its Haswell kernels (found once)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        from .._threads import blas_controller

        found = blas_controller().lib_controllers
        _AVAILABLE = bool(found) and all(
            lib.internal_api == "openblas" and getattr(lib, "architecture", None) == "Haswell"
            for lib in found
        )
    return _AVAILABLE


if config.DISABLE_JIT:  # plain Python (the test suite's second run): never used

    def available():  # noqa: F811
        return False
