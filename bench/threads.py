"""Thread-parallel fits: several small models fitted at once in threads.

The kernels release the GIL (nogil=True), so joblib's threading backend runs
fits in parallel. This measures the wall time of fitting 8 models one at a
time and with 2 threads, on the bench's small case and a mid-sized network,
checks that the results are identical, and prints the speed-up.

    python bench/threads.py [--json bench/threads.json]
"""

import argparse
import json
import os
import time
import warnings

import numpy as np
from joblib import Parallel, delayed, parallel_backend

from fastbp import MLPRegressor
from fastbp._files import replace_text

CASES = {
    "small 8-16-1, 20k samples, batch 32": dict(n=20_000, d=8, hidden=(16,), out=1, batch=32),
    "mid 64-128-64-10, 5k samples, batch 64": dict(
        n=5_000, d=64, hidden=(128, 64), out=10, batch=64
    ),
}


def data(case):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(case["n"], case["d"]))
    y = np.tanh(X @ rng.normal(size=(case["d"], case["out"])))
    return X, (y.ravel() if case["out"] == 1 else y)


def fit(case, X, y, seed):
    est = MLPRegressor(hidden_layer_sizes=case["hidden"], solver="sgd", momentum=0.0,
                       learning_rate_init=0.01, batch_size=case["batch"], max_iter=10, tol=0,
                       n_iter_no_change=10**9, random_state=seed)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y).coefs_[0].copy()


def measure(n_models=8, repeats=3):
    results = {}
    for name, case in CASES.items():
        X, y = data(case)
        fit(case, X, y, 0)  # compile and warm up
        one, two = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            sequential = [fit(case, X, y, s) for s in range(n_models)]
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            with parallel_backend("threading", n_jobs=2):
                threaded = Parallel()(delayed(fit)(case, X, y, s) for s in range(n_models))
            two.append(time.perf_counter() - start)
        identical = all(np.array_equal(a, b) for a, b in zip(sequential, threaded, strict=True))
        results[name] = dict(
            one_thread_s=float(np.median(one)),
            two_threads_s=float(np.median(two)),
            speedup=float(np.median(one) / np.median(two)),
            identical=identical,
        )
        r = results[name]
        print(
            f"{name}: {n_models} fits, 1 thread {r['one_thread_s']:.2f} s, 2 threads "
            f"{r['two_threads_s']:.2f} s, speed-up {r['speedup']:.2f}x, identical: {identical}"
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    results = measure()
    if args.json:
        replace_text(args.json, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
