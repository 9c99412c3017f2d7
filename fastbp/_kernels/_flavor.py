"""Which float64 exp and tanh NumPy computes in this process (``numpy_math``), found
at import.

Arguments on which NumPy's results, where it does not call the C library (SVML's
exp on AVX-512 processors; its own SIMD tanh where there are fused multiply-adds),
differ from the C library's in the last bit, with NumPy's results then: NumPy
gives these exactly when it computes them so. A module of its own, without
kernels, so that the kernels' cache (``cache.py``) can key on it without
importing them.
"""

import struct

import numpy as np

_EXP_PROBES = (
    (-8.745226669766652, 0x3F24DE854673D2ED),
    (-8.53868727544948, 0x3F29A82E62E764E1),
    (2.357512318293466, 0x40252118233B62C7),
    (8.937394220561082, 0x40BDBB5675259C19),
    (3.6404604282387183, 0x40430E00243F234E),
    (-32.446886096159226, 0x3D023D7460FC22B8),
)


_TANH_PROBES = (
    (-2.228578783384802, 0xBFEF44335A3A287B),
    (0.731301556778297, 0x3FE3F6AB4EC6DF41),
    (-0.7860412576212541, 0xBFE4FF447343C9F0),
    (1.7282375670239514, 0x3FEE0B0986188537),
    (0.0742938808989626, 0x3FB2FBFC416C3E35),
    (1.900418615817948, 0x3FEE99CA6CBC4379),
)


def _gives(function, probes):
    x = np.array([p for p, _ in probes], dtype=np.float64)
    got = [struct.unpack("<Q", struct.pack("<d", v))[0] for v in function(x).tolist()]
    return got == [bits for _, bits in probes]


SVML = _gives(np.exp, _EXP_PROBES)
NUMPY_TANH = _gives(np.tanh, _TANH_PROBES)
