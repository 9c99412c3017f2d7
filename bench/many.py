"""Many networks at once (issue 19): K = 16 networks trained on the same data, side by side.

For each of the cases seed, small and mid (bench/cases.py) in both dtypes, 16
MLPRegressors of the case (its layers, activation and batch size; sgd, learning
rate 0.01, no momentum, no L2 penalty, shuffled every epoch, no stopping rule:
tol 0 and n_iter_no_change 10**9, a fixed number of epochs; member k has
random_state=k), trained by:

- ``fastbp``: ``fastbp.fit_many(members, X, y)``;
- ``fastbp one by one``: the same members, ``[m.fit(X, y) for m in members]``;
- ``sklearn``: scikit-learn's MLPRegressor with the same parameters, one after another;
- ``jax``: ``jax.vmap`` of the JAX peer's jitted epoch over 16 stacked parameter sets
  and 16 NumPy permutations per epoch (bench/peers.py, ManyJaxTrainer);
- ``torch``: ``torch.func.grad`` of a ``functional_call`` loss under ``torch.vmap`` over
  16 stacked parameter sets (``stack_module_state``), the same SGD steps, 16 NumPy
  permutations per epoch (bench/peers.py, ManyTorchTrainer).

The estimators are cloned afresh for every timed call (the cloning is not timed);
the peers are reset to their initial weights before it (not timed either), so
their timed calls hold their epochs only, while fastbp's and scikit-learn's hold
whole fits (validation, initialisation). Every system trains for the same SGD; the
figure is seconds per epoch of all 16 members: a call's time over its epochs.
Rows and epochs per case (SIZES): mid on fewer rows than the case's own, so that a
round stays a few seconds; scikit-learn and PyTorch, whose epochs take 10-1000x
longer here (one Python-level step per minibatch), run fewer epochs than the
others (SLOW: one), their time divided by theirs. scikit-learn's fixed cost per fit
then weighs on one epoch where fastbp's is spread over many (its ratio is reported,
not judged); PyTorch's set-up is outside its timed call, so its figure is its
epochs alone.

Then a 16-candidate search on the small case (float64, SEARCH_DTYPE): a fastbp
MLPRegressor of the case (max_iter of the small case's epochs) and the grid
``alpha`` x ``learning_rate_init`` (4 x 4), 3 folds, refit, timed whole as users call
it: ``fastbp.GridSearchCV``, scikit-learn's ``GridSearchCV`` over the same fastbp
estimator in this process (n_jobs=None), and with n_jobs=2, its worker processes
started afresh for every call (joblib's pool is shut down before it, untimed), so
that each call starts Python and loads fastbp in its workers, as a user's first
search does.

Systems are timed in turn, round by round (bench/interleaved.py's ``in_turn``); the
figures are median seconds and the median over rounds of each system's time over
fastbp's (fit_many's) in the same round. As a check of the results, each member
fitted by fit_many is compared with the same member fitted alone (np.array_equal
of coefs_ and intercepts_), and the searches' mean test scores with each other.

    python -m bench.many [--json bench/many.json] [--cases seed small] [--rounds 5]
"""

import argparse
import json
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from bench.cases import CASES, DTYPES, LEARNING_RATE, make_data
from bench.interleaved import in_turn
from bench.peers import MANY_TRAINERS, available
from fastbp._files import replace_text

K = 16  # members
ROUNDS = 5
ONE_BY_ONE = "fastbp one by one"
N_JOBS_2 = "sklearn n_jobs=2"
SLOW = ("sklearn", "torch")  # systems that run SIZES' slow_epochs


@dataclass(frozen=True)
class Size:
    rows: int
    epochs: int  # fastbp (both ways) and JAX
    slow_epochs: int  # scikit-learn and PyTorch (SLOW)


# Chosen so that a round (every system once) lasts a few seconds on 2 cores: seed and
# small on all their rows (1,000 and 20,000), mid on 5,000 of its 20,000.
SIZES = {
    "seed": Size(rows=1_000, epochs=100, slow_epochs=1),
    "small": Size(rows=20_000, epochs=10, slow_epochs=1),
    "mid": Size(rows=5_000, epochs=5, slow_epochs=1),
}
SEARCH_CASE = "small"
SEARCH_DTYPE = "float64"
GRID = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2]}
FOLDS = 3


def estimator(cls, case, epochs):
    """An MLPRegressor of ``case`` (scikit-learn's or fastbp's ``cls``) training the bench's
    SGD for exactly ``epochs`` epochs."""
    return cls(
        hidden_layer_sizes=case.hidden,
        activation=case.activation,
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        alpha=0.0,
        batch_size=case.batch_size,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=10**9,
        max_iter=epochs,
    )


def fitting(cls, fit, case, X, y, k):
    """run(epochs) -> (seconds, members): k fresh members of ``cls`` (random_state=j for
    member j), then ``fit(members, X, y)`` timed."""

    def run(epochs):
        est = estimator(cls, case, epochs)
        members = [clone(est).set_params(random_state=j) for j in range(k)]
        start = time.perf_counter()
        fit(members, X, y)
        return time.perf_counter() - start, members

    return run


def one_by_one(members, X, y):
    return [m.fit(X, y) for m in members]


def training(trainer):
    """run(epochs) -> (seconds, trainer): a peer's members reset to their initial
    weights, then ``epochs`` epochs timed."""

    def run(epochs):
        trainer.reset()
        start = time.perf_counter()
        trainer.epochs(epochs)
        return time.perf_counter() - start, trainer

    return run


def systems(case, dtype, X, y, k):
    """{system: run}, fit_many ("fastbp") first; the peers that are installed."""
    from sklearn.neural_network import MLPRegressor

    import fastbp

    runs = {
        "fastbp": fitting(fastbp.MLPRegressor, fastbp.fit_many, case, X, y, k),
        ONE_BY_ONE: fitting(fastbp.MLPRegressor, one_by_one, case, X, y, k),
        "sklearn": fitting(MLPRegressor, one_by_one, case, X, y, k),
    }
    for s, trainer in MANY_TRAINERS.items():
        if available(s):
            runs[s] = training(trainer(case, dtype, X, y, k))
    return runs


def equal_members(together, alone):
    """How many members fitted by fit_many equal, in coefs_ and intercepts_, the same
    member fitted alone."""
    return sum(
        all(
            np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
        )
        for a, b in zip(together, alone, strict=True)
    )


def measure_case(case_name, dtype, size, rounds=ROUNDS, k=K):
    """One case in one dtype: {"seconds": {system: s per epoch of the k members},
    "vs_fastbp": {system: ratio to fit_many's, > 1: fit_many is faster}, "epochs",
    "members_equal", ...}."""
    case = CASES[case_name]
    X, y = make_data(case, dtype, n_samples=size.rows)
    runs = systems(case, dtype, X, y, k)
    epochs = {s: size.slow_epochs if s in SLOW else size.epochs for s in runs}
    last = {}

    def per_epoch(s):
        seconds, last[s] = runs[s](epochs[s])
        return seconds / epochs[s]

    for run in runs.values():
        run(1)  # compile (Numba's cache, XLA), start threads, allocate: not timed
    turns = in_turn({s: lambda s=s: per_epoch(s) for s in runs}, rounds)
    return dict(
        case=case_name,
        dtype=dtype,
        layers=list(case.layers),
        rows=len(X),
        batch_size=case.batch_size,
        members=k,
        epochs=epochs,
        **turns,
        rounds=rounds,
        members_equal=equal_members(last["fastbp"], last[ONE_BY_ONE]),
        info={s: last[s].info() for s in MANY_TRAINERS if s in last},
    )


def stop_workers():
    """Shut joblib's reusable pool of worker processes (loky) down, so that the next
    n_jobs=2 search starts its workers, as the first search of a session does.
    (loky keeps its pool in a module global; joblib has no public call for this.)"""
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


def searching(make, X, y, fresh_workers=False):
    """run() -> (seconds, search): a new search from ``make()``, fitted, timed."""

    def run():
        search = make()
        if fresh_workers:
            stop_workers()
        start = time.perf_counter()
        search.fit(X, y)
        return time.perf_counter() - start, search

    return run


def measure_search(rounds=ROUNDS, size=None, dtype=SEARCH_DTYPE):
    """The 16-candidate search: {"seconds": {system: s per search}, "vs_fastbp",
    "same_scores": {system: mean test scores equal to fastbp.GridSearchCV's}, ...}."""
    from sklearn.model_selection import GridSearchCV

    import fastbp

    case = CASES[SEARCH_CASE]
    size = size or SIZES[SEARCH_CASE]
    X, y = make_data(case, dtype, n_samples=size.rows)
    est = estimator(fastbp.MLPRegressor, case, size.epochs).set_params(random_state=0)
    runs = {
        "fastbp": searching(lambda: fastbp.GridSearchCV(est, GRID, cv=FOLDS), X, y),
        "sklearn": searching(lambda: GridSearchCV(est, GRID, cv=FOLDS), X, y),
        N_JOBS_2: searching(lambda: GridSearchCV(est, GRID, cv=FOLDS, n_jobs=2), X, y, True),
    }
    last = {}

    def per_search(s):
        seconds, last[s] = runs[s]()
        return seconds

    try:
        for s in ("fastbp", "sklearn"):
            runs[s]()  # not timed (n_jobs=2 starts afresh every call: nothing to warm up)
        turns = in_turn({s: lambda s=s: per_search(s) for s in runs}, rounds)
    finally:
        stop_workers()
    scores = {s: last[s].cv_results_["mean_test_score"] for s in runs}
    return dict(
        case=SEARCH_CASE,
        dtype=dtype,
        layers=list(case.layers),
        rows=len(X),
        epochs=size.epochs,
        grid=GRID,
        candidates=int(np.prod([len(v) for v in GRID.values()])),
        folds=FOLDS,
        **turns,
        rounds=rounds,
        same_scores={
            s: bool(np.array_equal(scores[s], scores["fastbp"])) for s in runs if s != "fastbp"
        },
    )


def measure(cases=tuple(SIZES), dtypes=DTYPES, rounds=ROUNDS, sizes=None, k=K, search=True):
    """{"members": k, "cases": {"<case>-<dtype>": measure_case's}, "search": measure_search's}
    (without "search" if ``search`` is false)."""
    sizes = {**SIZES, **(sizes or {})}
    results = {"members": k, "cases": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # (the fixed epochs)
        for name in cases:
            for dtype in dtypes:
                r = measure_case(name, dtype, sizes[name], rounds, k)
                results["cases"][f"{name}-{dtype}"] = r
                ratios = ", ".join(f"{s} {v:.3g}x" for s, v in r["vs_fastbp"].items())
                print(f"{name} {dtype}: fit_many {r['seconds']['fastbp'] * 1e3:.3g} ms/epoch"
                      f" ({k} members); {ratios}; members equal to single fits:"
                      f" {r['members_equal']} of {k}", flush=True)  # fmt: skip
        if search:
            r = results["search"] = measure_search(rounds, sizes[SEARCH_CASE])
            ratios = ", ".join(f"{s} {v:.3g}x" for s, v in r["vs_fastbp"].items())
            print(f"GridSearchCV, {r['candidates']} candidates x {r['folds']} folds:"
                  f" fastbp {r['seconds']['fastbp']:.3g} s; {ratios}", flush=True)  # fmt: skip
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--cases", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--no-search", action="store_true", help="leave the GridSearchCV out")
    args = parser.parse_args(argv)
    results = measure(args.cases, args.dtypes, args.rounds, search=not args.no_search)
    if args.json:
        replace_text(args.json, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
