"""Smoke test of bench/crossover.py (run by hand: it is not part of make bench).

It had stopped compiling unnoticed once (np.dot on views needs reference
counting, which fastbp's options turn off); this compiles both paths of every
product and checks that they agree.
"""

import numpy as np

from bench.crossover import PRODUCTS, RUN, operands, result, warm_up


def test_crossover_paths_compile_and_agree():
    warm_up(("float32", "float64"))  # asserts loops == BLAS on one small shape
    rng = np.random.RandomState(1)
    for prod in PRODUCTS:  # and on a shape through gemm, with a fan of 1 (gemv)
        for k, m in ((16, 8), (16, 1)):
            args = operands(prod, 32, k, m, np.float64, 0.3, rng)
            RUN[prod, "loops"](args, 1)
            loops = result(prod, args)
            RUN[prod, "blas"](args, 1)
            np.testing.assert_allclose(result(prod, args), loops, rtol=1e-12, atol=1e-12)


def test_crossover_times_fastbps_own_paths():
    from bench.crossover import TIMED
    from fastbp._kernels import backward, forward

    # each timed function calls fastbp's path, by name, and nothing else of its own
    for timed, path in TIMED.values():
        assert path.__module__ in ("fastbp._kernels.forward", "fastbp._kernels.backward")
        assert path.__name__ in timed.py_func.__code__.co_names
    # and the kernels pick between exactly these paths (no third copy)
    chosen = {forward.affine: ("product_blas", "product_loops")}
    chosen[backward.backprop_messages] = ("messages_blas", "messages_loops")
    chosen[backward.weight_grad] = ("weight_grad_blas", "weight_grad_loops")
    for kernel, paths in chosen.items():
        assert all(p in kernel.py_func.__code__.co_names for p in paths)
