"""scikit-learn's shuffle of each epoch's row order, in compiled code.

The estimators draw each epoch's row order as scikit-learn does: numpy's legacy
``RandomState.shuffle`` of the order, with the estimator's RandomState. That is
Fisher-Yates from the last entry down, each swap partner j in [0, i] drawn by
``random_interval``: a 32-bit output of the Mersenne Twister (MT19937), masked to
the smallest all-ones mask covering i, drawn again while above i. ``shuffle`` makes
the same draws on the generator's own state in place (``fastbp._shuffle.Shuffler``
hands it numpy's state), so the RandomState goes on from where its own shuffle
would have left it. tests/test_shuffle.py checks the orders and the draws after
them against numpy's.

Why compiled: numpy's loop reaches the generator through a function pointer per
draw and mispredicts each rejected draw. Here the outputs of each 624-word block
are tempered in one pass, and two draws are taken at once without a branch on
the first (timings: DESIGN.md).
"""

from numba import int64

from .config import jit, jit_inline, jit_internal

_N, _M = 624, 397  # MT19937's state words and its middle word offset
STATE_WORDS = _N
_MATRIX_A, _UPPER, _LOWER = 0x9908B0DF, 0x80000000, 0x7FFFFFFF


@jit_internal
def _twist(key):
    """The next 624 state words (MT19937's generation step), in place: word i from
    words i, i + 1 and i + 397 (mod 624), in order. Split where the indices wrap, so
    that each part has no modulo and compiles to vector code; the words read are the
    same (below 227 the old i + 397, above it the new)."""
    for i in range(_N - _M):
        _next_word(key, i, i + 1, i + _M)
    for i in range(_N - _M, _N - 1):
        _next_word(key, i, i + 1, i + _M - _N)
    _next_word(key, _N - 1, 0, _M - 1)


@jit_inline
def _next_word(key, i, j, k):
    """key[i] from key[i], key[j] = key[i + 1] and key[k] = key[i + 397] (mod 624)."""
    y = (int64(key[i]) & _UPPER) | (int64(key[j]) & _LOWER)
    key[i] = int64(key[k]) ^ (y >> 1) ^ ((y & 1) * _MATRIX_A)  # (no branch on the low bit)


@jit_internal
def _temper(key, start, out):
    """MT19937's outputs of key[start:] into out[start:]."""
    for q in range(start, _N):
        y = int64(key[q])
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        out[q] = y


@jit
def shuffle(order, state, out):
    """Shuffle ``order`` (fewer than 2^32 entries) in place as RandomState.shuffle
    does, drawing from ``state`` (an MT19937 state as uint32: key[624], then the
    position); ``out`` is scratch for 624 outputs."""
    pos = int64(state[_N])
    _temper(state, pos, out)  # the outputs left in this block
    n = order.shape[0]
    mask = n - 1
    for shift in (1, 2, 4, 8, 16):
        mask |= mask >> shift
    for i in range(n - 1, 0, -1):
        if i <= mask >> 1:
            mask >>= 1
        value = i + 1
        if pos < _N - 1:
            # two draws at once, without a branch on the first: a rejected draw
            # (~1 in 4) then costs no misprediction unless the second is rejected too
            v0 = int64(out[pos]) & mask
            v1 = int64(out[pos + 1]) & mask
            first = v0 <= i
            value = v0 if first else v1
            pos += 1 if first else 2
        while value > i:
            if pos == _N:
                _twist(state)
                _temper(state, int64(0), out)  # (int64: a literal 0 compiled a second _temper)
                pos = 0
            value = int64(out[pos]) & mask
            pos += 1
        order[i], order[value] = order[value], order[i]
    state[_N] = pos
