"""Which float64 exp NumPy computes in this process (``numpy_exp``), found at import.

Arguments on which SVML's exp (NumPy's on AVX-512 processors) and the C
library's differ in the last bit, with SVML's results: NumPy gives these exactly
when it calls SVML. A module of its own, without kernels, so that the kernels'
cache (``cache.py``) can key on it without importing them.
"""

import struct

import numpy as np

_PROBES = (
    (-8.745226669766652, 0x3F24DE854673D2ED),
    (-8.53868727544948, 0x3F29A82E62E764E1),
    (2.357512318293466, 0x40252118233B62C7),
    (8.937394220561082, 0x40BDBB5675259C19),
    (3.6404604282387183, 0x40430E00243F234E),
    (-32.446886096159226, 0x3D023D7460FC22B8),
)


def _numpy_calls_svml():
    x = np.array([p for p, _ in _PROBES], dtype=np.float64)
    got = [struct.unpack("<Q", struct.pack("<d", v))[0] for v in np.exp(x).tolist()]
    return got == [bits for _, bits in _PROBES]


SVML = _numpy_calls_svml()
