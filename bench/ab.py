"""A/B of two fastbp checkouts, interleaved: is a change slower on the bench cases?

    python -m bench.ab BASE_DIR NEW_DIR [--cases seed small] [--systems fastbp]
                       [--rounds 9] [--round-s 0.3]

Two versions of fastbp cannot share a process, so each runs in a child of its own
(fastbp imported from BASE_DIR or NEW_DIR, this checkout's bench harness in both),
and the parent times them in turn, round by round, the order alternating: both
see the same machine within a round. Each case and system: the same trainer
(bench/peers.py: the estimator, or the engine alone through Network.train_epoch)
on the same data, the same number of epochs per call in both, chosen so that a
call lasts about ``--round-s``. The figure is the median over rounds of NEW's
time over BASE's in the same round (< 1: NEW is faster).

A checkout is a directory holding ``fastbp/`` (e.g. ``git worktree add /tmp/base
REV``); each compiles its own kernels once, before anything is timed.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 0.3


def serve():
    """In a child: answer "setup CASE DTYPE SYSTEM", "calibrate S" and "run N" lines."""
    from bench.cases import CASES, make_data
    from bench.peers import make_trainer
    from bench.timing import epochs_per_round, timed

    trainer = None
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "setup":
            case_name, dtype, system = args
            X, y = make_data(CASES[case_name], dtype)
            trainer = make_trainer(system, CASES[case_name], dtype, X, y)
            trainer.epochs(1)  # compile, allocate: not timed
            answer = "ready"
        elif cmd == "calibrate":
            answer = str(epochs_per_round(trainer, float(args[0])))
        else:  # run
            answer = repr(timed(trainer.epochs, int(args[0])))
        print(answer, flush=True)


class Child:
    def __init__(self, checkout):
        # fastbp from the checkout, then bench from this one (the checkout's own bench
        # may differ, or lack this module)
        code = (
            f"import sys; sys.path.insert(0, {str(checkout)!r}); import fastbp; "
            f"assert fastbp.__file__.startswith(sys.path.pop(0)), fastbp.__file__; "
            f"sys.path.insert(0, {str(ROOT)!r}); from bench.ab import serve; serve()"
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the child for {line!r} died (exit {self.proc.wait()})")
        return answer.strip()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def compare(base, new, case_name, dtype, system, rounds, round_s):
    """NEW's time over BASE's per round; (median ratio, BASE's and NEW's s/epoch)."""
    children = {"base": Child(base), "new": Child(new)}
    try:
        for child in children.values():
            assert child.ask(f"setup {case_name} {dtype} {system}") == "ready"
        n = int(children["base"].ask(f"calibrate {round_s}"))
        times = {"base": [], "new": []}
        for r in range(rounds):
            for name in ("base", "new") if r % 2 == 0 else ("new", "base"):
                # OpenBLAS's threads spin for a while after a product: let the other
                # child's go idle first, or they take a core from this one's
                time.sleep(SETTLE_S)
                times[name].append(float(children[name].ask(f"run {n}")) / n)
    finally:
        for child in children.values():
            child.close()
    ratios = [b / a for a, b in zip(times["base"], times["new"], strict=True)]
    return median(ratios), median(times["base"]), median(times["new"])


def main(argv=None):
    from bench.cases import CASES, DTYPES
    from bench.peers import ENGINE

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--systems", nargs="+", default=["fastbp", ENGINE])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--round-s", type=float, default=0.3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    results = {}
    for case_name in args.cases:
        for dtype in args.dtypes:
            for system in args.systems:
                ratio, base_s, new_s = compare(
                    args.base, args.new, case_name, dtype, system, args.rounds, args.round_s
                )
                key = f"{case_name}-{dtype}-{system}"
                results[key] = dict(new_over_base=ratio, base_s=base_s, new_s=new_s)
                print(
                    f"{key}: new / base {ratio:.3f} (base {base_s:.3g} s/epoch, new {new_s:.3g})",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
