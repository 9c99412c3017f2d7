"""How fastbp's epoch time grows with the number of samples and with hidden width.

- samples: the small case (8-16-1, batch 32, relu) on 2,500 to 40,000 samples;
- width: an 8-W-1 network (20,000 samples, batch 32, relu), W from 16 to 256.

Both dtypes. Each point is fastbp.MLPRegressor's steady-state seconds per epoch,
measured as in bench/test_bench_epochs.py: one epoch to warm up, then ROUNDS
rounds of n epochs (warm_start fits, n chosen so a round lasts ~ROUND_S), the
median round divided by n. Run by ``make bench``; bench/report.py plots it.

    python bench/scaling.py [--json bench/scaling.json]
"""

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.cases import CASES, DTYPES, make_data
from bench.peers import make_trainer
from bench.timing import epochs_per_round
from fastbp._files import replace_text

SAMPLES = (2_500, 5_000, 10_000, 20_000, 40_000)
WIDTHS = (16, 32, 64, 128, 256)
ROUND_S = 0.2
ROUNDS = 5


def seconds_per_epoch(case, dtype, n_samples, round_s=ROUND_S, rounds=ROUNDS):
    X, y = make_data(case, dtype, n_samples=n_samples)
    trainer = make_trainer("fastbp", case, dtype, X, y)
    trainer.epochs(1)  # compile and initialise
    n = epochs_per_round(trainer, round_s)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        trainer.epochs(n)
        times.append((time.perf_counter() - start) / n)
    return float(np.median(times))


def measure(samples=SAMPLES, widths=WIDTHS, dtypes=DTYPES, **timing):
    small = CASES["small"]
    points = []
    for dtype in dtypes:
        for n in samples:
            s = seconds_per_epoch(small, dtype, n, **timing)
            points.append(dict(axis="samples", dtype=dtype, x=n, layers=small.label, seconds=s))
            print(f"{dtype} {small.label} {n:>6} samples: {s * 1e3:8.3f} ms/epoch", flush=True)
        for w in widths:
            case = replace(small, layers=(small.n_features, w, small.n_outputs))
            s = seconds_per_epoch(case, dtype, small.n_samples, **timing)
            points.append(dict(axis="width", dtype=dtype, x=w, layers=case.label, seconds=s))
            print(f"{dtype} {case.label:>8} {small.n_samples} samples: {s * 1e3:8.3f} ms/epoch")
    return dict(
        samples_case=dict(layers=small.label, batch=small.batch_size),
        width_case=dict(layers=f"{small.n_features}-W-{small.n_outputs}", n=small.n_samples),
        points=points,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the points to this JSON file")
    args = parser.parse_args()
    results = measure()
    if args.json:
        replace_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
