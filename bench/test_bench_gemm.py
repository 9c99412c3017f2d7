"""The machine's own BLAS GEMM rate, the physical limit for mid and large.

Two references per dtype, both through numpy's ``np.dot`` into a preallocated
output:

- ``square``: one product of two N x N matrices (N = 2048), the best case for BLAS;
- ``epoch-<case>``: exactly the products one epoch of <case> performs (same m, k, n
  for every minibatch, the ragged last one included, and the same transposed
  operands: A @ W, A.T @ D, D @ W.T), one after the other, as in an epoch. This
  includes numpy's per-call overhead (~1 us per product), which any caller pays.

Each reports GFLOP/s (2*m*k*n per product) in extra_info; bench/report.py sets
fastbp's rate on mid and large against both.

Note: fastbp's compiled kernels call np.dot through Numba, which links SciPy's
BLAS rather than numpy's (see bench/CROSSOVER.md); both are OpenBLAS here.
"""

import numpy as np
import pytest

from bench.cases import CASES, DTYPES, batch_sizes, epoch_flops, products

SQUARE_N = 2048
SMOKE_SQUARE_N = 256  # benchmarking disabled: just check the machinery
ROUNDS = 7


def square_product(n, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype)
    return (lambda: np.dot(a, b, out=c)), (a, b, c)


def epoch_products(case, dtype):
    """A function performing the matrix products of one epoch of ``case``, and their
    operands. Operands of each shape are allocated once, as a training loop would."""
    rng = np.random.default_rng(0)
    layers = list(zip(case.layers[:-1], case.layers[1:]))
    weights = [rng.standard_normal((a, b)).astype(dtype) for a, b in layers]
    calls = []
    buffers = {}
    for rows in set(batch_sizes(case)):
        acts = [rng.standard_normal((rows, a)).astype(dtype) for a, _ in layers]
        deltas = [rng.standard_normal((rows, b)).astype(dtype) for _, b in layers]
        z = [np.empty((rows, b), dtype) for _, b in layers]
        gw = [np.empty((a, b), dtype) for a, b in layers]
        msg = [np.empty((rows, a), dtype) for a, _ in layers]
        buffers[rows] = (acts, deltas, z, gw, msg)
    for rows in batch_sizes(case):
        acts, deltas, z, gw, msg = buffers[rows]
        order = [(kind, m, k, n) for kind, m, k, n in products(case, rows)]
        layer_of = {}
        for i, (a, b) in enumerate(layers):
            layer_of[("forward", rows, a, b)] = i
            layer_of[("weight", a, rows, b)] = i
            layer_of[("message", rows, b, a)] = i
        for key in order:
            i = layer_of[key]
            if key[0] == "forward":
                calls.append((acts[i], weights[i], z[i]))
            elif key[0] == "weight":
                calls.append((acts[i].T, deltas[i], gw[i]))
            else:
                calls.append((deltas[i], weights[i].T, msg[i]))

    def run():
        for a, b, c in calls:
            np.dot(a, b, out=c)

    return run, calls


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_square(benchmark, dtype):
    n = SMOKE_SQUARE_N if benchmark.disabled else SQUARE_N
    run, (a, b, c) = square_product(n, dtype)
    benchmark.group = "gemm"
    if benchmark.disabled:
        benchmark(run)
    else:
        benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1)
        benchmark.extra_info["gflops"] = 2 * n**3 / benchmark.stats.stats.median / 1e9
    benchmark.extra_info.update(kind="square", n=n, dtype=dtype, flops=2 * n**3)
    np.testing.assert_allclose(
        c[:3, :3], a[:3] @ b[:, :3], rtol=1e-3 if dtype == "float32" else 1e-9
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_name", ["mid", "large"])
def test_gemm_epoch(benchmark, case_name, dtype):
    case = CASES[case_name]
    run, calls = epoch_products(case, dtype)
    flops = epoch_flops(case)
    assert sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in calls) == flops
    benchmark.group = "gemm"
    if benchmark.disabled:
        benchmark(run)
    else:
        benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=1)
        benchmark.extra_info["gflops"] = flops / benchmark.stats.stats.median / 1e9
    benchmark.extra_info.update(kind=f"epoch-{case_name}", dtype=dtype, flops=flops)
    a, b, c = calls[-1]
    np.testing.assert_allclose(c, a @ b, rtol=1e-3 if dtype == "float32" else 1e-9)
