"""NumPy's float64 exp and tanh, to the bit, where NumPy computes them otherwise than
the C library.

scikit-learn's softmax (and its exp output) is ``np.exp``. NumPy's wheels for
x86-64 Linux compute float64 exp with Intel's SVML (``__svml_exp8_ha``) on
processors with AVX-512 (Skylake-X and later, AMD Zen 4), elsewhere with the C
library's ``exp``, which is what ``math.exp`` compiles to. The two differ in the
last bit on a few percent of arguments, enough to set fits apart from
scikit-learn's within epochs (figures: DESIGN.md, "NumPy's arithmetic, to the
bit").

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
agrees with it on nearly all arguments (a softmax reaches that range only for a
logit 707 below its row's largest). tests/test_numpy_math.py compares ``exp`` with
``np.exp`` on millions of arguments.

scikit-learn's tanh is ``np.tanh``, which NumPy computes with its own SIMD code
wherever the processor has fused multiply-adds (x86-64 from Haswell on; found
by ``_flavor.NUMPY_TANH``): it too differs from the C library's in the last bit.
``tanh`` follows it: |x| split into 16 intervals by its exponent and first
mantissa bit (the first below 1.5 * 2^-3, the last from 24 on, where the
polynomial is 1), on each a polynomial of degree 16 in y = |x| - b by Horner's
rule in fused multiply-adds, the sign put back; 1 from 1.5 * 2^1023 on and for
infinities. Its table is NumPy's (``_TANH``: row k holds coefficient c(k-1), row
0 the interval's b).
"""

import math
import struct

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic

from ._flavor import NUMPY_TANH, SVML
from .config import jit_inline
from .products import _fma


def _double(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _table(*bits):
    """The doubles of ``bits``, as an array: the kernels read it by index as memory
    (a tuple's entries by a runtime index compile to a switch)."""
    return np.array([_double(b) for b in bits])


# 2^(j/16) = Th[j] + Tlr[j]
_TH = _table(
    0x3FF0000000000000, 0x3FF0B5586CF9890F, 0x3FF172B83C7D517B, 0x3FF2387A6E756238,
    0x3FF306FE0A31B715, 0x3FF3DEA64C123422, 0x3FF4BFDAD5362A27, 0x3FF5AB07DD485429,
    0x3FF6A09E667F3BCD, 0x3FF7A11473EB0187, 0x3FF8ACE5422AA0DB, 0x3FF9C49182A3F090,
    0x3FFAE89F995AD3AD, 0x3FFC199BDD85529C, 0x3FFD5818DCFBA487, 0x3FFEA4AFA2A490DA,
)  # fmt: skip
_TLR = _table(
    0x0000000000000000, 0x3C979AA65D837B6D, 0xBC801B15EAA59348, 0x3C968EFDE3A8A894,
    0x3C834D754DB0ABB6, 0x3C859F48A72A4C6D, 0x3C7690CEBB7AAFB0, 0x3C9063E1E21C5409,
    0xBC93B3EFBF5E2228, 0xBC7B32DCB94DA51D, 0x3C8DB72FC1F0EAB4, 0x3C71AFFC2B91CE27,
    0x3C8C1A7792CB3387, 0x3C736EAE30AF0CB3, 0x3C74A385A63D07A7, 0xBC8FF7128FD391F0,
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

_TANH = _table(
    # b
    0x0, 0x3FCC000000000000, 0x3FD4000000000000, 0x3FDC000000000000,
    0x3FE4000000000000, 0x3FEC000000000000, 0x3FF4000000000000, 0x3FFC000000000000,
    0x4004000000000000, 0x400C000000000000, 0x4014000000000000, 0x401C000000000000,
    0x4024000000000000, 0x402C000000000000, 0x4034000000000000, 0x0,
    # c0
    0x0, 0x3FCB8FD0416A7C92, 0x3FD35F98A0EA650E, 0x3FDA5729EE488037,
    0x3FE1BF47EABB8F95, 0x3FE686650B8C2015, 0x3FEB2523BB6B2DEE, 0x3FEE1FBF97E33527,
    0x3FEF9258260A71C2, 0x3FEFF112C63A9077, 0x3FEFFF419668DF11, 0x3FEFFFFC832750F2,
    0x3FEFFFFFFDC96F35, 0x3FEFFFFFFFFFCF58, 0x3FF0000000000000, 0x3FF0000000000000,
    # c1
    0x3FF0000000000000, 0x3FEE842CA3F08532, 0x3FED11574AF58F1B, 0x3FEA945B9C24E4F9,
    0x3FE6284C3374F815, 0x3FE02500A09F8D6E, 0x3FD1F25131E3A8C0, 0x3FBD22CA1C24A139,
    0x3F9B3AFE1FBA5C76, 0x3F6DD37D19B22B21, 0x3F27CCEC13A9EF96, 0x3ECBE6C3F33250AE,
    0x3E41B4865394F75F, 0x3D8853F01BDA5F28, 0x3C73953C0197EF58, 0x0,
    # c2
    0xBBF0B3EA3FDFAA19, 0xBFCA48AAEB53BC21, 0xBFD19921F4329916, 0xBFD5E0F09BEF8011,
    0xBFD893B59C35C882, 0xBFD6BA7CB7576538, 0xBFCE7291743D7555, 0xBFBB6D85A01EFB80,
    0xBF9ADDAE58C7141A, 0xBF6DC59376C7AA19, 0xBF27CC5E74677410, 0xBECBE6C0E8B4CC87,
    0xBE41B486526B0565, 0xBD8853F01BEF63A4, 0xBC73955BE519BE31, 0x0,
    # c3
    0xBFD5555555555555, 0xBFD183AFC292BA11, 0xBFCC1A4B039C9BFA, 0xBFC16E1E6D8D0BE6,
    0xBF92426C751E48A2, 0x3FB4F152B2BAD124, 0x3FBBBA40CBEF72BE, 0x3FB01BA038BE6A3D,
    0x3F916DF44871EFC8, 0x3F63C6869DFC8870, 0x3F1FB9AEF915D828, 0x3EC299D1E27C6E11,
    0x3E379B5DDCCA334C, 0x3D8037F57BC62C9A, 0x3C6A2D4B50A2CFF7, 0x0,
    # c4
    0xBCE6863EE44ED636, 0x3FC04DCD0476C75E, 0x3FC43D3449A80F08, 0x3FC5C26F3699B7E7,
    0x3FC1A686F6AB2533, 0x3FAF203C316CE730, 0xBF89C7A02788557C, 0xBF98157E26E0D541,
    0xBF807B55C1C7D278, 0xBF53A18D5843190F, 0xBF0FB6BBC89B1A5B, 0xBEB299C9C684A963,
    0xBE279B5DD4FB3D01, 0xBD7037F57AE72AA6, 0xBC5A2CA2BBA78E86, 0x0,
    # c5
    0x3FC1111111112AB5, 0x3FB5C19EFDFC08AD, 0x3FA74C98DC34FBAC, 0xBF790D6A8EFF0A77,
    0xBFAC3C021789A786, 0xBFAE2196B7326859, 0xBF93A7A011FF8C2A, 0x3F6E4709C7E8430E,
    0x3F67682AFA611151, 0x3F3EF2EE77717CBF, 0x3EF95A4482F180B7, 0x3E9DC2C27DA3B603,
    0x3E12E2AFD9F7433E, 0x3D59F320348679BA, 0x3C44B61D9BBCC940, 0x0,
    # c6
    0xBDA1EA19DDDDB3B4, 0xBFB0B8DF995CE4DF, 0xBFB2955CF41E8164, 0xBFAF9D05C309F7C6,
    0xBF987D27CCFF4291, 0x3F8B2CA62572B098, 0x3F8F1CF6C7F5B00A, 0x3F60379811E43DD5,
    0xBF4793826F78537E, 0xBF2405695E36240F, 0xBEE0E08DE39CE756, 0xBE83D709BA5F714E,
    0xBDF92E3FC5EE63E0, 0xBD414CC030F2110E, 0xBC2BA022E8D82A87, 0x0,
    # c7
    0xBFABA1BA1990520B, 0xBF96E37BBA52F6FC, 0x3ECFF7DF18455399, 0x3F97362834D33A4E,
    0x3F9E7F8380184B45, 0x3F869543E7C420D4, 0xBF7326BD4914222A, 0xBF5FC15B0A9D98FA,
    0x3F14CFFCFA69FBB6, 0x3F057E48E5B79D10, 0x3EC33B66D7D77264, 0x3E66AC4E578B9B10,
    0x3DDCC74B8D3D5C42, 0x3D23C589137F92B4, 0x3C107F8E2C8707A1, 0x0,
    # c8
    0xBE351CA7F096011F, 0x3F9EAAF3320C3851, 0x3F9CF823FE761FC1, 0x3F9022271754FF1F,
    0xBF731FE77C9C60AF, 0xBF84A6046865EC7D, 0xBF4CA3F1F2B9192B, 0x3F4C77DEE0AFD227,
    0x3F04055BCE68597A, 0xBEE2BF0CB4A71647, 0xBEA31EAAFE73EFD5, 0xBE46ABB02C4368ED,
    0xBDBCC749CA8079DD, 0xBD03C5883836B9D2, 0xBBF07A5416264AEC, 0x0,
    # c9
    0x3F9664F94E6AC14E, 0xBF94D3343BAE39DD, 0xBF7BC748E60DF843, 0xBF8C89372B43BA85,
    0xBF8129A092DE747A, 0x3F60C85B4D538746, 0x3F5BE9392199EC18, 0xBF2A0C68A4489F10,
    0xBF00462601DC2FAA, 0x3EB7B6A219DEA9F4, 0x3E80CBCC8D4C5C8A, 0x3E2425BB231A5E29,
    0x3D9992A4BEAC8662, 0x3CE191BA5ED3FB67, 0x3BC892450BAD44C4, 0x0,
    # c10
    0xBEA8C4C1FD7852FE, 0xBFCCCE16B1046F13, 0xBF81A16F224BB7B6, 0xBF62CBF00406BC09,
    0x3F75B29BB02CF69B, 0x3F607DF0F9F90C17, 0xBF4B852A6E0758D5, 0xBF0078C63D1B8445,
    0x3EEC12EADD55BE7A, 0xBE6FA600F593181B, 0xBE5A3C935DCE3F7D, 0xBE001C6D95E3AE96,
    0xBD74755A00EA1FD3, 0xBCBC1C6C063BB7AC, 0xBBA3BE9A4460FE00, 0x0,
    # c11
    0xBF822404577AA9DD, 0x403D8B07F7A82AA3, 0xBF9F44AB92FBAB0A, 0x3FB2EAC604473D6A,
    0x3F45F87D903AAAC8, 0xBF5E104671036300, 0x3F19BC98DDF0F340, 0x3F0D4304BC9246E8,
    0xBED13C415F7B9D41, 0xBE722B8D9720CDB0, 0x3E322666D739BEC0, 0x3DD76A553D7E7918,
    0x3D4DE0FA59416A39, 0x3C948716CF3681B4, 0x3B873F9F2D2FDA99, 0x0,
    # c12
    0xBEFDD99A221ED573, 0x4070593A3735BAB4, 0xBFCCAB654E44835E, 0x3FD13ED80037DBAC,
    0xBF6045B9076CC487, 0x3F2085EE7E8AC170, 0x3F23524622610430, 0xBEFF12A6626911B4,
    0x3EAB9008BCA408AF, 0x3E634DF71865F620, 0xBE05BB1BCF83CA73, 0xBDAF2AC143FB6762,
    0xBD23EAE52A3DBF57, 0xBC6B5E3E9CA0955E, 0xBB5ECA68E2C1BA2E, 0x0,
    # c13
    0x3F6E3BE689423841, 0xC0D263511F5BAAC1, 0x40169F73B15EBE5C, 0xC025C1DD41CD6CB5,
    0xBF58FD89FE05E0D1, 0x3F73F7AF01D5AF7A, 0xBF1E40BDEAD17E6B, 0x3EE224CD6C4513E5,
    0xBE24B645E68EEAA3, 0xBE4ABFEBFB72BC83, 0x3DD51C38F8695ED3, 0x3D8313AC38C6832B,
    0x3CF7787935626685, 0x3C401FFC49C6BC29, 0xBABF0B21ACFA52AB, 0x0,
    # c14
    0xBF2A1306713A4F3A, 0xC1045E509116B066, 0x4041FAB9250984CE, 0xC0458D090EC3DE95,
    0xBF74949D60113D63, 0x3F7C9FD6200D0ADE, 0x3F02CD40E0AD0A9F, 0xBE858AB8E019F311,
    0xBE792FA6323B7CF8, 0x3E2DF04D67876402, 0xBD95C72BE95E4D2C, 0xBD55A89C30203106,
    0xBCCAD6B3BB9EFF65, 0xBC12705CCD3DD884, 0xBA8E0A4C47AE75F5, 0x0,
    # c15
    0xBF55D7E76DC56871, 0x41528C38809C90C7, 0xC076D57FB5190B02, 0x4085F09F888F8ADA,
    0x3FA246332A2FCBA5, 0xBFB29D851A896FCD, 0x3ED9065AE369B212, 0xBEB8E1BA4C98A030,
    0x3E6FFD0766AD4016, 0xBE0C63C29F505F5B, 0xBD7FAB216B9E0E49, 0x3D2826B62056AA27,
    0x3CA313E31762F523, 0x3BEA37AA21895319, 0x3AE5C7F1FD871496, 0x0,
    # c16
    0x3F35E67AB76A26E7, 0x41848EE0627D8206, 0xC0A216D618B489EC, 0x40A5B89107C8AF4F,
    0x3FB69D8374520EDA, 0xBFBDED519F981716, 0xBEF02D288B5B3371, 0x3EB290981209C1A6,
    0xBE567E924BF5FF6E, 0x3DE3F7F7DE6B0EB6, 0x3D69ED18BAE3EBBC, 0xBCF7534C4F3DFA71,
    0xBC730B73F1EAFF20, 0xBBBA2CFF8135D462, 0xBAB5A71B5F7D9035, 0x0,
)  # fmt: skip


@jit_inline
def exp(x):
    """e^x (float64) as ``np.exp`` computes it (module docstring)."""
    if not SVML or not abs(x) < THRESHOLD:  # (and NaN)
        return math.exp(x)
    s = _fma(x, LOG2E, SHIFTER)
    # where s was rounded up, one step toward zero (a select: the sign is random)
    s -= SIXTEENTH if _fma(x, LOG2E, -(s - SHIFTER)) < 0 else 0.0
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


@jit_inline
def tanh(x):
    """tanh(x) (float64) as ``np.tanh`` computes it (module docstring)."""
    if not NUMPY_TANH or x != x:  # (NaN: NaN)
        return math.tanh(x)
    bits = _bits(x)  # (compiled for float32 buffers too, never run there)
    top = bits & 0x7FF8000000000000  # exponent and first mantissa bit of |x|
    j = min(max((top >> 32) - 0x3FC00000, 0), 0x780000) >> 19
    if top > 0x7FE0000000000000:
        r = 1.0
    else:
        y = abs(float(x)) - _TANH[j]
        r = _TANH[17 * 16 + j]
        for c in range(16, 0, -1):
            r = _fma(r, y, _TANH[16 * c + j])
    return _from_bits(_bits(r) | (bits & SIGN))


SIGN = -0x8000000000000000  # the sign bit, as an int64


@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 (of a float32 made float64) as an int64."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[0], sig.args[0], types.float64)
        return builder.bitcast(value, ir.IntType(64))

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

    def tanh(x):  # noqa: F811
        return math.tanh(x)
