"""Where BLAS beats Numba loops for fastbp's three layer products.

Run as ``python bench/crossover.py`` (~45 s on an idle 2-core machine, up to
~2 min on a busy one; results in bench/CROSSOVER.md). For float32
and float64 and a grid of MLP-like shapes (batch rows n, fan_in k, fan_out m) it
times, separately, the loop path and the BLAS path of

    affine             Z = A @ W          (A: n x k, W: k x m)   fastbp/_kernels/forward.py
    weight_grad        gW = A^T @ D       (A: n x k, D: n x m)   fastbp/_kernels/backward.py
    backprop_messages  D_prev = D @ W^T   (D: n x m, W: k x m)   fastbp/_kernels/backward.py

and prints time(loops) / time(BLAS) per shape (> 1: BLAS is faster), then the
smallest n * k * m from which BLAS wins consistently and how well candidate
decision rules would do. The parts that both paths share (the bias add of
``affine``, the column sums of ``weight_grad``) are left out: they cannot
change which path wins.

Timing: every call runs inside one compiled repeat loop (the kernels are called
from compiled code in fastbp, so no Python dispatch is included), long enough
for a sample to last ``--target-us``. The loop and BLAS samples of a shape are
interleaved, and the samples of every shape are spread over ``--rounds`` passes
through the whole grid so that a burst of load on a shared machine hits only a
few of them; the figure kept is the median.
"""

import argparse
import math
import os
import platform
import sys
import time

import numba
import numpy as np

from fastbp._files import replace_text

# the options fastbp compiles its kernels with (without the on-disk cache), and the
# two paths of each product as fastbp's kernels take them: the loops and the BLAS call
from fastbp._kernels.backward import (
    messages_blas,
    messages_loops,
    weight_grad_blas,
    weight_grad_loops,
)
from fastbp._kernels.config import BLAS_MIN_FLOPS, JIT_OPTIONS
from fastbp._kernels.forward import product_blas, product_loops

OPTIONS = dict(JIT_OPTIONS, cache=False)
jit = numba.njit(**OPTIONS)

ROWS = (1, 8, 32, 64, 128, 256)
FANS = (1, 2, 8, 16, 32, 64, 128, 256, 784)
PRODUCTS = ("affine", "weight_grad", "backprop_messages")
SHORT = {"affine": "aff", "weight_grad": "wgr", "backprop_messages": "msg"}


# The timed functions: fastbp's own loop and BLAS paths of each product, on the flat
# buffers at the offsets a layer table gives, each in a compiled function of its own
# (Numba inlines fastbp's paths into it, as into fastbp's kernels) that the repeat
# loop below calls. weight_grad's loops take an accumulate flag (False here).


@jit
def affine_loops(acts, a_off, z_off, params, w_off, n, k, m):
    product_loops(acts, a_off, z_off, params, w_off, n, k, m)


@jit
def affine_blas(acts, a_off, z_off, params, w_off, n, k, m):
    product_blas(acts, a_off, z_off, params, w_off, n, k, m)


@jit
def weight_grad_loops_at(acts, a_off, deltas, d_off, grad, w_off, n, k, m):
    weight_grad_loops(acts, a_off, deltas, d_off, grad, w_off, n, k, m, False)


@jit
def weight_grad_blas_at(acts, a_off, deltas, d_off, grad, w_off, n, k, m):
    weight_grad_blas(acts, a_off, deltas, d_off, grad, w_off, n, k, m)


@jit
def backprop_messages_loops(deltas, d_off, params, w_off, dp_off, n, k, m):
    messages_loops(deltas, d_off, params, w_off, dp_off, n, k, m)


@jit
def backprop_messages_blas(deltas, d_off, params, w_off, dp_off, n, k, m):
    messages_blas(deltas, d_off, params, w_off, dp_off, n, k, m)


# (product, path) -> (the timed function, the fastbp path it calls)
TIMED = {
    ("affine", "loops"): (affine_loops, product_loops),
    ("affine", "blas"): (affine_blas, product_blas),
    ("weight_grad", "loops"): (weight_grad_loops_at, weight_grad_loops),
    ("weight_grad", "blas"): (weight_grad_blas_at, weight_grad_blas),
    ("backprop_messages", "loops"): (backprop_messages_loops, messages_loops),
    ("backprop_messages", "blas"): (backprop_messages_blas, messages_blas),
}


def repeater(kernel):
    """A compiled function calling ``kernel(*args)`` ``reps`` times."""

    @jit
    def run(args, reps):
        for _ in range(reps):
            kernel(*args)

    return run


RUN = {key: repeater(timed) for key, (timed, _) in TIMED.items()}


def operands(prod, n, k, m, dtype, zeros, rng):
    """The arguments of one product, laid out as in fastbp's flat buffers: each
    layer's block follows the previous one."""
    A = rng.standard_normal(n * k).astype(dtype)
    if zeros > 0:
        A[rng.random_sample(n * k) < zeros] = 0
    W = rng.standard_normal(k * m).astype(dtype)
    D = rng.standard_normal(n * m).astype(dtype)
    i = np.int64
    if prod == "affine":  # acts = [A | Z], params = [... | W]
        acts = np.concatenate([A, np.zeros(n * m, dtype)])
        params = np.concatenate([np.zeros(7, dtype), W])
        return (acts, i(0), i(n * k), params, i(7), i(n), i(k), i(m))
    if prod == "weight_grad":  # acts = [A | ...], deltas = [D], grad = [... | gW]
        grad = np.zeros(7 + k * m, dtype)
        return (A, i(0), D, i(0), grad, i(7), i(n), i(k), i(m))
    # deltas = [D_prev | D], params = [... | W]
    deltas = np.concatenate([np.zeros(n * k, dtype), D])
    params = np.concatenate([np.zeros(7, dtype), W])
    return (deltas, i(n * k), params, i(7), i(0), i(n), i(k), i(m))


def result(prod, args):
    """The product's output block, to compare the two paths."""
    if prod == "affine":
        acts, _, z_off, _, _, n, _, m = args
        return acts[z_off : z_off + n * m].copy()
    if prod == "weight_grad":
        grad, w_off, k, m = args[4], args[5], args[7], args[8]
        return grad[w_off : w_off + k * m].copy()
    deltas, dp_off, n, k = args[0], args[4], args[5], args[6]
    return deltas[dp_off : dp_off + n * k].copy()


def sample(run, args, reps):
    t0 = time.perf_counter()
    run(args, reps)
    return (time.perf_counter() - t0) / reps


def calibrate(run, args, target):
    """Warm up, then pick a repeat count making one sample last about ``target`` s."""
    run(args, 1)
    t = sample(run, args, 1)
    reps = max(1, min(1_000_000, math.ceil(target / max(t, 1e-9))))
    if reps > 1:  # refine: the single-call figure includes the dispatch overhead
        t = sample(run, args, reps)
        reps = max(1, min(1_000_000, math.ceil(target / max(t, 1e-9))))
    return reps


def warm_up(dtypes):
    """Compile every function for every dtype before any timing, and check that the
    loops compute the same products as BLAS."""
    rng = np.random.RandomState(0)
    for dtype in dtypes:
        for prod in PRODUCTS:
            args = operands(prod, 7, 5, 6, dtype, 0.3, rng)
            RUN[prod, "loops"](args, 1)
            loops = result(prod, args)
            RUN[prod, "blas"](args, 1)
            np.testing.assert_allclose(loops, result(prod, args), rtol=1e-4, atol=1e-4)


def measure(dtypes, rows, fans, rounds, per_round, target, zeros, seed, log):
    """Seconds per call, {(dtype, prod, n, k, m): (loops, blas, rounds_won)}: the medians
    of all samples, and in how many rounds the median BLAS sample beat the loop one."""
    rng = np.random.RandomState(seed)
    cases = [
        (np.dtype(dt).name, prod, n, k, m)
        for dt in dtypes
        for n in rows
        for k in fans
        for m in fans
        for prod in PRODUCTS
    ]
    data, reps, times = {}, {}, {c: ([], []) for c in cases}
    won = dict.fromkeys(cases, 0)
    for r in range(rounds):
        t_round = time.perf_counter()
        for c in cases:
            dt, prod, n, k, m = c
            if c not in data:
                data[c] = operands(prod, n, k, m, np.dtype(dt), zeros, rng)
                reps[c] = tuple(calibrate(RUN[prod, p], data[c], target) for p in ("loops", "blas"))
            args = data[c]
            loops, blas = [], []
            for s in range(per_round):  # interleave, alternating which path goes first
                order = (0, 1) if (r + s) % 2 == 0 else (1, 0)
                for path in order:
                    if path == 0:
                        loops.append(sample(RUN[prod, "loops"], args, reps[c][0]))
                    else:
                        blas.append(sample(RUN[prod, "blas"], args, reps[c][1]))
            won[c] += np.median(blas) < np.median(loops)
            times[c][0].extend(loops)
            times[c][1].extend(blas)
        log(f"  round {r + 1}/{rounds}: {time.perf_counter() - t_round:.1f} s")
    return {
        c: (float(np.median(lp)), float(np.median(bl)), won[c]) for c, (lp, bl) in times.items()
    }


# --- Analysis -----------------------------------------------------------------


def nkm(c):
    return c[2] * c[3] * c[4]


def consistent_from(cases, wins):
    """Smallest n*k*m F of the grid such that ``wins(c)`` holds for every case with
    n*k*m >= F; None if it fails even on the largest."""
    best = None
    for F in sorted({nkm(c) for c in cases}, reverse=True):
        if all(wins(c) for c in cases if nkm(c) >= F):
            best = F
        else:
            break
    return best


def rule_cost(cases, med, use_blas):
    """How a decision rule does against always picking the faster path: geometric
    mean and worst slowdown per shape, number of shapes slowed by more than 10 %,
    and total time over the grid relative to the best total."""
    logs, worst, wrong, total, best = 0.0, 1.0, 0, 0.0, 0.0
    for c in cases:
        loops, blas = med[c][:2]
        chosen = blas if use_blas(c) else loops
        slow = chosen / min(loops, blas)
        logs += math.log(slow)
        worst = max(worst, slow)
        wrong += slow > 1.1
        total += chosen
        best += min(loops, blas)
    return math.exp(logs / len(cases)), worst, wrong, total / best


def report(med, rounds, current):
    ratio = {c: v[0] / v[1] for c, v in med.items()}
    cases = list(med)
    dts = list(dict.fromkeys(c[0] for c in cases))

    # The table: one line per (k, m), ratios per product and n.
    for dt in dts:
        print(f"\n## {dt}: time(loops) / time(BLAS)  (> 1: BLAS faster; * BLAS won every round)")
        head = "   k   m |"
        for prod in PRODUCTS:
            head += f" {SHORT[prod]} n=" + "".join(f"{n:>6}" for n in ROWS) + " |"
        print(head)
        for k in FANS:
            for m in FANS:
                line = f"{k:>4}{m:>4} |"
                for prod in PRODUCTS:
                    line += "      "
                    for n in ROWS:
                        c = (dt, prod, n, k, m)
                        mark = "*" if med[c][2] == rounds else " "
                        line += f"{ratio[c]:6.2f}"[-5:].rjust(5) + mark
                    line += " |"
                print(line)

    # Ratios by size class.
    print("\n## by n*k*m: share of shapes where BLAS is faster (median) and ratio quantiles")
    for dt in dts:
        print(f"{dt:>8}  n*k*m in         shapes  BLAS>  BLAS>,n>1     min   10%   50%")
        sub = [c for c in cases if c[0] == dt]
        for e in range(0, 30, 2):
            lo, hi = 2**e, 2 ** (e + 2)
            q = sorted(ratio[c] for c in sub if lo <= nkm(c) < hi)
            q2 = [ratio[c] for c in sub if lo <= nkm(c) < hi and c[2] > 1]
            if not q:
                continue
            share = sum(x > 1 for x in q) / len(q)
            share2 = sum(x > 1 for x in q2) / len(q2) if q2 else float("nan")
            print(
                f"{'':>8}  [{lo:>9}, {hi:>9})  {len(q):>4}  {share:5.2f}  {share2:9.2f}  "
                f"{q[0]:6.2f} {q[len(q) // 10]:5.2f} {q[len(q) // 2]:5.2f}"
            )

    # Where BLAS wins consistently.
    print("\n## smallest n*k*m of the grid from which BLAS wins on every larger shape")
    crit = {
        "in every round": lambda c: med[c][2] == rounds,
        "median": lambda c: ratio[c] > 1,
        "loops <10% better": lambda c: ratio[c] > 1 / 1.1,
    }
    print(f"{'dtype':>8} {'product':>18} {'shapes':>7} | " + " ".join(f"{k:>18}" for k in crit))
    scopes = [(dt, prod, 1) for dt in dts for prod in PRODUCTS + ("all",)]
    scopes += [(dt, "all", 2) for dt in dts] + [("all", "all", 1), ("all", "all", 2)]
    for dt, prod, n_min in scopes:
        sub = [c for c in cases if dt in ("all", c[0]) and prod in ("all", c[1]) and c[2] >= n_min]
        cells = [consistent_from(sub, wins) for wins in crit.values()]
        label = "all" if n_min == 1 else f"n>={n_min}"
        print(
            f"{dt:>8} {prod:>18} {label:>7} | "
            + " ".join(f"{x if x is not None else 'never':>18}" for x in cells)
        )
    loops_win = [c for c in cases if ratio[c] < 1 / 1.1 and c[2] > 1]
    for c in sorted(loops_win, key=nkm)[-5:]:
        print(
            f"   loops > 10 % faster at n={c[2]} k={c[3]} m={c[4]} ({c[0]} {c[1]}): {ratio[c]:.2f}"
        )

    # Candidate rules against always picking the faster path.
    print("\n## decision rules against the faster path per shape (all dtypes and products)")
    print(f"{'rule':>52}  geomean   worst  >10% slower  total time")
    rules = [(f"n*k*m >= {T}", lambda c, T=T: nkm(c) >= T) for T in [2**e for e in range(3, 17)]]
    if current and current not in [2**e for e in range(3, 17)]:
        rules.append((f"n*k*m >= {current}", lambda c: nkm(c) >= current))
    for d in (2, 8):
        rules += [
            (f"n*k*m >= {T} and min(n, k, m) >= {d}",
             lambda c, T=T, d=d: nkm(c) >= T and min(c[2:]) >= d)
            for T in (64, 128, 256)
        ]  # fmt: skip

    # affine and weight_grad loop over m innermost (vectorised) and enter that loop
    # n * k times; backprop_messages reduces over m without vectorising.
    def per_product(T, T2, Tm):
        def rule(c):
            if c[1] == "backprop_messages":
                return nkm(c) >= Tm
            return nkm(c) >= T or c[2] * c[3] >= T2

        return rule

    rules += [
        (f"aff/wgr: n*k*m >= {T} or n*k >= {T2}; msg: >= {Tm}", per_product(T, T2, Tm))
        for T, T2, Tm in ((1024, 64, 256), (2048, 64, 256), (2048, 32, 256))
    ]
    for name, rule in rules:
        g, w, n_wrong, tot = rule_cost(cases, med, rule)
        mark = "  <- current" if name == f"n*k*m >= {current}" else ""
        print(f"{name:>52}  {g:7.3f} {w:7.2f}  {n_wrong:>11}  {tot:10.3f}{mark}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--rounds", type=int, default=4, help="passes through the whole grid")
    ap.add_argument("--per-round", type=int, default=3, help="samples per path per pass")
    ap.add_argument("--target-us", type=float, default=150.0, help="duration of one sample")
    ap.add_argument("--zeros", type=float, default=0.0, help="fraction of zeros in A")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--blas-threads", type=int, help="limit BLAS to this many threads (default: leave as is)"
    )
    ap.add_argument("--csv", help="also write every measurement to this file")
    args = ap.parse_args(argv)
    dtypes = [np.dtype(d) for d in args.dtypes.split(",")]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"# numpy {np.__version__}, numba {numba.__version__}; "
        f"BLAS_MIN_FLOPS in fastbp/_kernels/config.py: {BLAS_MIN_FLOPS}"
    )
    try:  # np.dot in compiled code calls SciPy's BLAS
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print(
                f"# {info['internal_api']} {info['version']} ({info.get('architecture')}, "
                f"{info['num_threads']} threads): {os.path.basename(info['filepath'])}"
            )
    except ImportError:
        pass
    print(
        f"# {args.rounds} rounds x {args.per_round} samples per path, >= {args.target_us:g} us "
        f"per sample, zeros in A: {args.zeros:g}"
    )

    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")
        print(f"# BLAS limited to {args.blas_threads} thread(s)")

    t0 = time.perf_counter()
    log("compiling ...")
    warm_up(dtypes)
    log(f"  {time.perf_counter() - t0:.1f} s; measuring ...")
    med = measure(
        dtypes, ROWS, FANS, args.rounds, args.per_round, args.target_us * 1e-6,
        args.zeros, args.seed, log,
    )  # fmt: skip
    if args.csv:
        lines = ["dtype,product,n,k,m,nkm,loops_s,blas_s,ratio,rounds_blas_won"]
        for c, (loops, blas, won) in med.items():
            figures = f"{nkm(c)},{loops:.4e},{blas:.4e},{loops / blas:.3f},{won}"
            lines.append(",".join(str(x) for x in c) + "," + figures)
        replace_text(args.csv, "\n".join(lines) + "\n")
    report(med, args.rounds, BLAS_MIN_FLOPS)
    log(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
