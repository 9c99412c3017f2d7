"""Each epoch's row order, drawn as scikit-learn draws it (the kernel: ``_kernels/shuffle.py``)."""

import ctypes
from functools import cache

import numpy as np

from ._kernels.shuffle import STATE_WORDS, shuffle


class Shuffler:
    """Shuffles row orders with ``random_state``'s draws: compiled (``shuffle``) for an
    MT19937 RandomState (every RandomState scikit-learn makes) and an int64 order of
    fewer than 2^32 rows (above, numpy draws 64 bits), else by
    ``random_state.shuffle`` itself."""

    def __init__(self, random_state):
        self.random_state = random_state
        self.bit_generator = getattr(random_state, "_bit_generator", None)
        self.state = None
        if type(self.bit_generator) is np.random.MT19937 and _layout_known():
            self.state = _state_words(self.bit_generator)
            self.out = np.empty(STATE_WORDS, dtype=np.uint32)

    def arrays(self):
        """The state and scratch ``shuffle`` takes, for kernels that shuffle themselves
        (``fits``; None if it cannot be compiled), to use under ``lock()``."""
        return None if self.state is None else (self.state, self.out)

    def lock(self):
        """The lock RandomState.shuffle holds while it draws."""
        return self.bit_generator.lock

    def __call__(self, order):
        if self.state is None or order.dtype != np.int64 or order.shape[0] >= 1 << 32:
            self.random_state.shuffle(order)
            return
        with self.bit_generator.lock:  # as RandomState.shuffle holds it
            shuffle(order, self.state, self.out)


def _state_words(bit_generator):
    """The MT19937's state in place: its key, then its position, as uint32."""
    address = bit_generator.ctypes.state_address
    pointer = ctypes.cast(address, ctypes.POINTER(ctypes.c_uint32))
    return np.ctypeslib.as_array(pointer, (STATE_WORDS + 1,))


@cache
def _layout_known():
    """Whether numpy's C state is laid out as ``_state_words`` reads it (uint32
    key[624]; int pos): checked once, on a generator part way through its key
    (else every shuffle is numpy's own)."""
    generator = np.random.RandomState(12345)
    generator.random_sample(7)
    bit_generator = generator._bit_generator
    state, known = _state_words(bit_generator), bit_generator.state["state"]
    key, pos = state[:STATE_WORDS], state[STATE_WORDS]
    return bool(np.array_equal(key, known["key"]) and pos == known["pos"])
