"""NumPy's float64 exp, to the bit, where NumPy computes it with SVML.

scikit-learn's softmax (and its exp output) is ``np.exp``. NumPy's wheels for
x86-64 Linux compute float64 exp with Intel's SVML (``__svml_exp8_ha``) on
processors with AVX-512 (Skylake-X and later, AMD Zen 4), elsewhere with the C
library's ``exp``, which is what ``math.exp`` compiles to. The two differ in the
last bit on ~4.6% of arguments (measured on this project's machine: on AMD EPYC
with AVX-512, fastbp's softmax, through glibc's exp, gave 15 of iris's 450
probabilities a bit apart from scikit-learn's, and weights apart after 5
epochs).

``exp`` follows SVML's algorithm where NumPy uses it (``SVML``, found once per
process by ``_flavor``; the kernels' cache is keyed by it, ``cache.py``):

- N = x log2(e) rounded toward zero to 1/16, as x log2(e) + 1.5 * 2^48 by a
  fused multiply-add in that rounding (here: rounded to nearest, then one step
  toward zero where the remainder, by a second fused multiply-add, is negative);
  j = N's sixteenths (the low 4 bits of the sum), M = floor(N);
- r = x - N ln2_hi - N ln2_lo (fused multiply-adds), its bit 62 cleared;
- p = ((c6 r + c5) r^2 + c4 r + c3) r^2 + c2 r + c1, then p r + Tlr[j], all
  fused multiply-adds;
- exp(x) = (Th[j] p + Th[j]) 2^M, with Th[j] + Tlr[j] = 2^(j/16).

The constants are SVML's (its AVX-512 data table). Where |x| >= THRESHOLD, SVML
takes a scalar path of its own; ``exp`` takes the C library's there, which
agrees with it on all but ~1 in 10,000 arguments (measured: a softmax reaches
that range only for a logit 707 below its row's largest). tests/test_numpy_exp.py
compares ``exp`` with ``np.exp`` on millions of arguments.
"""

import math
import struct

from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic

from ._flavor import SVML
from .config import jit_inline
from .products import _fma


def _double(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


# 2^(j/16) = Th[j] + Tlr[j]
_TH = tuple(
    _double(b)
    for b in (
        0x3FF0000000000000, 0x3FF0B5586CF9890F, 0x3FF172B83C7D517B, 0x3FF2387A6E756238,
        0x3FF306FE0A31B715, 0x3FF3DEA64C123422, 0x3FF4BFDAD5362A27, 0x3FF5AB07DD485429,
        0x3FF6A09E667F3BCD, 0x3FF7A11473EB0187, 0x3FF8ACE5422AA0DB, 0x3FF9C49182A3F090,
        0x3FFAE89F995AD3AD, 0x3FFC199BDD85529C, 0x3FFD5818DCFBA487, 0x3FFEA4AFA2A490DA,
    )
)  # fmt: skip
_TLR = tuple(
    _double(b)
    for b in (
        0x0000000000000000, 0x3C979AA65D837B6D, 0xBC801B15EAA59348, 0x3C968EFDE3A8A894,
        0x3C834D754DB0ABB6, 0x3C859F48A72A4C6D, 0x3C7690CEBB7AAFB0, 0x3C9063E1E21C5409,
        0xBC93B3EFBF5E2228, 0xBC7B32DCB94DA51D, 0x3C8DB72FC1F0EAB4, 0x3C71AFFC2B91CE27,
        0x3C8C1A7792CB3387, 0x3C736EAE30AF0CB3, 0x3C74A385A63D07A7, 0xBC8FF7128FD391F0,
    )
)  # fmt: skip
LOG2E = _double(0x3FF71547652B82FE)
SHIFTER = _double(0x42F8000000003FF0)  # 1.5 * 2^48 + 1023
SIXTEENTH = 0.0625  # the spacing of doubles around SHIFTER
LN2_HI, LN2_LO = _double(0x3FE62E42FEFA39EF), _double(0x3C7ABC9E3B39803F)
R_MASK = -0x4000000000000001  # 0xBFFFFFFFFFFFFFFF as an int64: bit 62 cleared
C6, C5, C4, C3, C2, C1 = (
    _double(b)
    for b in (
        0x3F57411836940C04, 0x3F81101CBBC265C0, 0x3FA55557242D68FE,
        0x3FC5555553939732, 0x3FE000000000D008, 0x3FEFFFFFFFFFFF70,
    )
)  # fmt: skip
THRESHOLD = _double(0x40861DA04CBAFE44)  # ~707.70


@jit_inline
def exp(x):
    """e^x (float64) as ``np.exp`` computes it (module docstring)."""
    if not SVML or not abs(x) < THRESHOLD:  # (and NaN)
        return math.exp(x)
    s = _fma(x, LOG2E, SHIFTER)
    if _fma(x, LOG2E, -(s - SHIFTER)) < 0:  # s rounded up: one step toward zero
        s -= SIXTEENTH
    n = s - SHIFTER
    j = _bits(s) & 15
    r = _fma(-n, LN2_HI, x)
    r = _fma(-n, LN2_LO, r)
    r = _from_bits(_bits(r) & R_MASK)
    r2 = r * r
    p = _fma(r2, _fma(r2, _fma(C6, r, C5), _fma(C4, r, C3)), _fma(C2, r, C1))
    p = _fma(p, r, _TLR[j])
    th = _TH[j]
    m = int(math.floor(n))  # |m| <= 1021: 2^m is a normal double, the product exact
    return _fma(th, p, th) * _from_bits((m + 1023) << 52)


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as an int64."""
    if x != types.float64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(x), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 of an int64's bits."""
    if not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], types.int64)
        return builder.bitcast(value, ir.DoubleType())

    return types.float64(i), codegen


if config.DISABLE_JIT:  # plain Python (the test suite's second run): the C library's

    def exp(x):  # noqa: F811
        return math.exp(x)
