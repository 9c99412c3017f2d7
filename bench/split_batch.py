"""Experiment: does splitting each minibatch across the 2 cores pay?

Each batch is cut in two halves whose forward and backward passes run in a
Numba ``prange`` (one half per thread), then the two gradients are summed and
one SGD step is taken. Compared with fastbp's one-thread epoch on the same
data. Measured on this 2-core machine (see bench/RESULTS.md): on small layers it
does not pay (waking the thread team for every minibatch costs more than the half
it saves), and on large ones OpenBLAS's own threads fight the Numba threads. And
wherever it might pay, it changes the numbers: the gradient summed from two
halves is not the one product scikit-learn computes. fastbp therefore uses both
cores through BLAS threads on large layers and through thread-parallel fits
(bench/threads.py, fit_many), not inside a minibatch.

Both paths are timed twice: with OpenBLAS's default threads (one per core) and
with BLAS limited to one thread (threadpoolctl), since on large layers the two
Numba threads and OpenBLAS's threads compete for the same two cores. float64.

    python bench/split_batch.py [--json bench/split_batch.json]   # ~1 min, mostly compiling

``make bench`` runs it and bench/report.py quotes the figures under "Both cores".
It calls fastbp's internal kernels directly (``fastbp._kernels.protocol``).
"""

import argparse
import json
import time
from contextlib import nullcontext

import numpy as np
from numba import njit, prange
from threadpoolctl import threadpool_limits

from fastbp import Network
from fastbp._files import replace_text
from fastbp._kernels import protocol
from fastbp._kernels.backward import finish_gradient
from fastbp._kernels.codes import SGD, SQUARED_ERROR
from fastbp._kernels.epochs import run_epoch
from fastbp._kernels.layout import B_OFF
from fastbp._kernels.optimizers import sgd_step
from fastbp._kernels.passes import batch_loss_grad


@njit(parallel=True, nogil=True)
def split_epoch(data, targets, rows, batch, net, first, second, grad, velocity, lr, totals):
    """Each batch's two halves in two threads (``first``, ``second``: their work buffers)."""
    accumulated = 0.0
    for start in range(0, rows.shape[0], batch):
        n = min(batch, rows.shape[0] - start)
        half = (n + 1) // 2
        for h in prange(2):
            begin = start + h * half
            size = half if h == 0 else n - half
            work = first if h == 0 else second
            work.grad[:] = 0
            totals[h] = 0.0
            if size > 0:
                totals[h] = batch_loss_grad(
                    data, targets, rows, begin, size, net, work, SQUARED_ERROR, False
                )
        for q in range(grad.shape[0]):
            grad[q] = first.grad[q] + second.grad[q]
        reg = finish_gradient(net.params, grad, first.table[0, B_OFF], 0.0, float(n))
        accumulated += ((totals[0] + totals[1]) / n + reg) * n
        sgd_step(net.params, grad, velocity, lr, 0.0, False)
    return accumulated


def best_of(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure():
    results = {}
    cases = {"small": ([8, 16, 1], 20_000, 32), "mid": ([64, 128, 64, 10], 20_000, 64),
             "large": ([784, 256, 128, 10], 10_000, 128)}  # fmt: skip
    for name, (sizes, n, batch) in cases.items():
        rng = np.random.RandomState(0)
        X, Y = rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1]))
        sw, rows = np.ones(n), np.arange(n, dtype=np.int64)
        net = Network(sizes, "relu", random_state=0)
        data, targets = protocol.data(X, np.float64), protocol.targets(Y, sw)

        halves = [protocol.work(net.layer_sizes, (batch + 1) // 2, np.float64) for _ in "ab"]
        grad, velocity, totals = np.zeros(net.params.size), np.zeros(net.params.size), np.zeros(2)
        loss = protocol.loss(SQUARED_ERROR)
        split_args = (data, targets, rows, batch, net._net, *halves, grad, velocity, 0.01, totals)
        run_split = lambda args=split_args: split_epoch(*args)  # noqa: E731

        v = np.zeros((1, net.params.size))
        epoch_args = (data, targets, rows, net._net, protocol.work(net.layer_sizes, batch,
                      np.float64), loss, protocol.moments(v),
                      protocol.step(SGD, 0.01))  # fmt: skip
        run_whole = lambda args=epoch_args: run_epoch(*args)  # noqa: E731
        r = results[f"{name} {'-'.join(map(str, sizes))}, batch {batch}"] = {}
        for blas in ("default", "1"):
            with threadpool_limits(1, user_api="blas") if blas == "1" else nullcontext():
                whole, split = best_of(run_whole), best_of(run_split)
            r[f"blas_{blas}"] = dict(one_thread_s=whole, split_s=split, speedup=whole / split)
            print(
                f"{name}, BLAS threads {blas}: one thread {whole * 1e3:.2f} ms/epoch, "
                f"batch split in 2 threads {split * 1e3:.2f} ms/epoch ({whole / split:.2f}x)"
            )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    results = measure()
    if args.json:
        replace_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
