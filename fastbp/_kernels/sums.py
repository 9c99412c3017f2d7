"""NumPy's sum to the last bit: its pairwise summation, for the kernels whose numbers
must be scikit-learn's (validation scores in ``fits``, the bias gradient of a layer
of one unit in ``backward``).

NumPy sums a run of values in memory (a 1-D array, a row, or the column of an
array of one column) in blocks of up to _PAIRWISE_BLOCK values, each with 8
accumulators (fewer than 8 values one after another), halving longer runs (the
left half's size rounded down to a multiple of 8) and adding the halves' sums.
A reduction over an array's first axis otherwise adds row after row.
"""

import numpy as np

from .config import jit_inline, jit_internal

_PAIRWISE_BLOCK = 128
# numpy_sum's ``index`` for values in a run a[start:start + n]
IN_PLACE = np.empty(0, dtype=np.int64)


@jit_internal
def numpy_sum(a, index, start, n, stack):
    """np.sum of a[index[start:start + n]] (a gathered copy), or of a[start:start + n]
    where ``index`` is empty (``IN_PLACE``), to the last bit: NumPy's pairwise
    summation, in a's dtype: blocks of up to _PAIRWISE_BLOCK values summed by
    _block, halves (rounded down to a multiple of 8) summed and added up.

    The halving is NumPy's recursion, unrolled with ``stack`` (float64, 4 entries per
    level: a half's start and size, whether it is a right half, the sum of its left
    sibling, exact in float64 for either dtype): Numba's cache cannot hold a function
    that calls itself (a cached caller crashed on a null pointer).
    """
    if n <= _PAIRWISE_BLOCK:
        return block_sum(a, index, start, n)
    dt = a.dtype.type
    top = 0
    stack[0], stack[1] = start, n
    while True:
        s, m = int(stack[4 * top]), int(stack[4 * top + 1])
        if m > _PAIRWISE_BLOCK:  # its left half first
            stack[4 * top + 2] = 0
            top += 1
            stack[4 * top], stack[4 * top + 1] = s, _half(m)
            continue
        value = block_sum(a, index, s, m)
        while top > 0:  # up through the halves this value ends
            top -= 1
            level = 4 * top
            if stack[level + 2] == 0:  # a left half: keep it, go down its right half
                stack[level + 3] = value
                stack[level + 2] = 1
                half = _half(int(stack[level + 1]))
                stack[level + 4] = stack[level] + half
                stack[level + 5] = stack[level + 1] - half
                top += 1
                break
            value = dt(stack[level + 3]) + value
        if top == 0:
            return value


@jit_inline
def _half(n):
    """The size of the left half of n values in NumPy's pairwise sum."""
    half = n // 2
    return half - half % 8


@jit_inline
def _at(a, index, q):
    """a[index[q]], or a[q] where index is empty."""
    return a[index[q]] if index.shape[0] > 0 else a[q]


@jit_inline
def block_sum(a, index, start, n):
    """NumPy's pairwise sum of up to _PAIRWISE_BLOCK values: one after another below 8,
    else in 8 accumulators, then the rest one after another."""
    dt = a.dtype.type
    if n < 8:
        total = dt(0)
        for q in range(start, start + n):
            total += _at(a, index, q)
        return total
    r0, r1 = _at(a, index, start), _at(a, index, start + 1)
    r2_, r3 = _at(a, index, start + 2), _at(a, index, start + 3)
    r4, r5 = _at(a, index, start + 4), _at(a, index, start + 5)
    r6, r7 = _at(a, index, start + 6), _at(a, index, start + 7)
    i = 8
    while i < n - n % 8:
        q = start + i
        r0 += _at(a, index, q)
        r1 += _at(a, index, q + 1)
        r2_ += _at(a, index, q + 2)
        r3 += _at(a, index, q + 3)
        r4 += _at(a, index, q + 4)
        r5 += _at(a, index, q + 5)
        r6 += _at(a, index, q + 6)
        r7 += _at(a, index, q + 7)
        i += 8
    total = ((r0 + r1) + (r2_ + r3)) + ((r4 + r5) + (r6 + r7))
    for q in range(start + i, start + n):
        total += _at(a, index, q)
    return total
