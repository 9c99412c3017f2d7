"""Side by side, interleaved: every system's epochs timed in turn, round by round.

The epoch benchmarks (bench/test_bench_epochs.py) time one system's rounds one
after the other, so two systems are timed up to a minute apart. On this shared
machine the speed of the same code drifts by up to 2x over minutes, which can
flip a ratio. Here each round times every system in turn, for ~ROUND_S each (the
order rotating from round to round), so the systems of a round see the same
machine. The figures: each system's median seconds per epoch, and the median
over rounds of its time over fastbp's in the same round.

    python -m bench.interleaved [--json bench/interleaved.json] [--cases seed small]
"""

import argparse
import json
from statistics import median

from bench.cases import CASES, DTYPES, make_data
from bench.peers import TIMED, available, make_trainer
from bench.timing import epochs_per_round, timed
from fastbp._files import replace_text

ROUND_S = 0.15  # wall time of one system's share of a round
ROUNDS = 7


def measure_group(case_name, dtype, rounds=ROUNDS, round_s=ROUND_S, n_samples=None):
    """One case in one dtype: {"seconds": {system: s/epoch}, "vs_fastbp": {system: ratio},
    "epochs_per_round": {system: n}}; ratio > 1 means fastbp is faster."""
    case = CASES[case_name]
    X, y = make_data(case, dtype, n_samples=n_samples)
    trainers = {s: make_trainer(s, case, dtype, X, y) for s in TIMED if available(s)}
    n = {}
    for s, trainer in trainers.items():
        trainer.epochs(1)  # compile (Numba, XLA), allocate: not timed
        n[s] = epochs_per_round(trainer, round_s)
    per_epoch = {s: lambda s=s: timed(trainers[s].epochs, n[s]) / n[s] for s in trainers}
    return dict(
        **in_turn(per_epoch, rounds),
        epochs_per_round=n,
        rounds=rounds,
        round_s=round_s,
    )


def in_turn(timings, rounds):
    """Each system's ``timings[system]()`` (seconds per unit) taken in turn, round by
    round, the order rotating: {"seconds": {system: median}, "vs_fastbp": {system:
    median over rounds of its time over fastbp's in the same round}}."""
    systems = list(timings)
    per_round = {s: [] for s in systems}
    for r in range(rounds):
        for s in systems[r % len(systems) :] + systems[: r % len(systems)]:
            per_round[s].append(timings[s]())
    return dict(
        seconds={s: median(v) for s, v in per_round.items()},
        vs_fastbp={
            s: median(a / b for a, b in zip(v, per_round["fastbp"], strict=True))
            for s, v in per_round.items()
            if s != "fastbp"
        },
    )


def measure(cases, rounds=ROUNDS, round_s=ROUND_S):
    results = {}
    for case_name in cases:
        for dtype in DTYPES:
            g = results[f"{case_name}-{dtype}"] = measure_group(case_name, dtype, rounds, round_s)
            ratios = ", ".join(f"{s} {r:.3g}x" for s, r in g["vs_fastbp"].items())
            print(f"{case_name} {dtype}: fastbp {g['seconds']['fastbp']:.3g} s/epoch; "
                  f"time / fastbp's, median over rounds: {ratios}", flush=True)  # fmt: skip
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    results = measure(args.cases, rounds=args.rounds)
    if args.json:
        replace_text(args.json, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
