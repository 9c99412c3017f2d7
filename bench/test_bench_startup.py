"""Time to first result in a fresh process: import + a fit + a prediction; and the
set-up that compiles every kernel (``fastbp compile``).

Each round is one ``python -c`` subprocess, timed with time.perf_counter around
subprocess.run (pytest-benchmark's timer), so interpreter start-up and exit count
too. The child builds its data, imports the library, fits, predicts 5 rows, and
prints how long each step took (extra_info "steps": data, import, fit, predict,
in seconds, and for fastbp "compiled": the kernels Numba compiled meanwhile).

- fastbp, after set-up: NUMBA_CACHE_DIR is a temporary directory that
  ``fastbp compile`` filled once (a fresh clone after ``make demo``, a plain
  install after ``fastbp compile``); the child must compile nothing.
- fastbp, cold cache: a fresh empty directory every round, so every kernel the
  fit and the prediction need is compiled in front of the user.
- scikit-learn: its import + the same fit and prediction.
- python + numpy: the child without any library, the floor under all of them.
- the set-up itself: ``fastbp compile`` on an empty cache.

The fits, each in its own rows:

- "one epoch": the seed case (bench/cases.py) with max_iter=1: what a fresh
  process adds before the training the epoch benchmarks measure; the fixed cost.
- "default": the seed case's fit as ``fit`` runs it by default, to scikit-learn's
  stopping rule (max_iter=200, tol=1e-4, n_iter_no_change=10). Both libraries stop
  after the same epoch (fastbp takes scikit-learn's steps), which the child
  reports ("n_iter") and the benchmark checks.
- "digits": ``fastbp demo``'s first fit, MLPClassifier(hidden_layer_sizes=(64,),
  max_iter=100) on scikit-learn's digits, standardised (not timed: data).

Python's bytecode: scikit-learn's modules are byte-compiled (pip compiles a
package's .py files when it installs it), and fastbp, installed here in editable
mode, is byte-compiled the same way before the first child (compileall, as pip
would), and the children may read it (PYTHONDONTWRITEBYTECODE, set on the machines
this bench was written on, only stops writing). Without it every fastbp child
compiled fastbp's source afresh, a cost no installed copy has.

No run reads or writes the repository's own Numba cache: every fastbp child gets a
temporary NUMBA_CACHE_DIR, and reports where its kernels' caches are, which the
tests check. With benchmarking disabled (plain ``pytest``) each runs once, after
one set-up into a temporary directory; the cold-cache and set-up benchmarks, which
compile everything (~10 s a round), are skipped.
"""

import compileall
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
COLD_ROUNDS = 3

CHILD = """
import time
t0 = time.perf_counter()
import json
import warnings
import numpy as np
{data}
t1 = time.perf_counter()
{import_}
t2 = time.perf_counter()
steps = {{"data": t1 - t0, "import": t2 - t1}}
if {fit}:
    from numba.core import event
    with event.install_recorder("numba:compile") as compiled:
        est = {estimator}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        t3 = time.perf_counter()
        pred = est.predict(X[:5])
        t4 = time.perf_counter()
    assert pred.shape == (5,)
    steps.update(fit=t3 - t2, predict=t4 - t3, n_iter=est.n_iter_)
    steps["compiled"] = sum(ev.is_start for _, ev in compiled.buffer)
if {fastbp}:
    # Where Numba keeps the compiled kernels of this process (NUMBA_CACHE_DIR if set).
    import sys
    from numba.core.dispatcher import Dispatcher
    steps["cache_dirs"] = sorted({{
        str(getattr(getattr(d, "_cache", None), "_cache_path", None))
        for name, m in list(sys.modules.items()) if name.startswith("fastbp")
        for d in vars(m).values() if isinstance(d, Dispatcher)
    }})
print("STEPS", json.dumps(steps))
"""

IMPORTS = {
    "fastbp": ("from fastbp import MLPClassifier, MLPRegressor", True),
    "sklearn": ("from sklearn.neural_network import MLPClassifier, MLPRegressor", True),
    "python": ("", False),
}

SEED_DATA = """
from bench.cases import CASES, make_data
case = CASES["seed"]
X, y = make_data(case, "float64")
"""
SEED_FIT = (
    "MLPRegressor(hidden_layer_sizes=case.hidden, activation=case.activation, solver='sgd', "
    "momentum=0.0, learning_rate_init=0.01, batch_size=case.batch_size, random_state=0{})"
)
DIGITS_DATA = """
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
digits = load_digits()
X, y = StandardScaler().fit_transform(digits.data), digits.target
"""
DIGITS_FIT = "MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0)"

# The fits (see the module's docstring): the child's data and estimator.
FITS = {
    "one epoch": (SEED_DATA, SEED_FIT.format(", max_iter=1")),
    "default": (SEED_DATA, SEED_FIT.format("")),
    "digits": (DIGITS_DATA, DIGITS_FIT),
}


def child_code(system, fit="one epoch"):
    import_, fits = IMPORTS[system]
    data, estimator = FITS[fit]
    return CHILD.format(
        data=data, import_=import_, fit=fits, fastbp=system == "fastbp", estimator=estimator
    )


def run_child(system, cache_dir=None, fit="one epoch"):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    result = subprocess.run(
        [sys.executable, "-c", child_code(system, fit)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = [s for s in result.stdout.splitlines() if s.startswith("STEPS ")][-1]
    steps = json.loads(line[len("STEPS ") :])
    if cache_dir is not None:
        # Every kernel's cache is in the temporary directory, none in the repository's.
        dirs = steps.pop("cache_dirs")
        assert dirs and all(Path(d).is_relative_to(cache_dir) for d in dirs), dirs
    return steps


def run_setup(cache_dir):
    """``fastbp compile`` into ``cache_dir``: the seconds it reports."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    code = "import sys; from fastbp.cli import main; sys.exit(main(['compile', '--quiet']))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return float(result.stdout.split(" compiled in ")[1].split(" s")[0])


@pytest.fixture(scope="module")
def set_up(tmp_path_factory):
    """A cache directory ``fastbp compile`` filled: a fresh clone after its set-up."""
    cache_dir = tmp_path_factory.mktemp("set-up")
    run_setup(cache_dir)
    return cache_dir


@pytest.fixture(scope="module", autouse=True)
def byte_compiled_fastbp():
    """fastbp's .pyc files, as an installed copy has them (see the module's docstring)."""
    assert compileall.compile_dir(str(ROOT / "fastbp"), quiet=1)


def record(benchmark, system, cache, steps, fit=None):
    benchmark.group = "startup"
    benchmark.extra_info.update(system=system, cache=cache, steps=steps, fit=fit)


def test_startup_python(benchmark):
    if benchmark.disabled:
        steps = benchmark(run_child, "python")
    else:
        steps = benchmark.pedantic(run_child, args=("python",), rounds=ROUNDS, warmup_rounds=1)
    record(benchmark, "python", None, steps)


# The epochs the default fit ran, by library: the two must agree.
DEFAULT_EPOCHS = {}


@pytest.mark.parametrize("fit", list(FITS))
def test_startup_sklearn(benchmark, fit):
    kwargs = dict(fit=fit)
    if benchmark.disabled:
        steps = benchmark(run_child, "sklearn", **kwargs)
    else:
        steps = benchmark.pedantic(
            run_child, args=("sklearn",), kwargs=kwargs, rounds=ROUNDS, warmup_rounds=1
        )
    record(benchmark, "sklearn", None, steps, fit)
    check_epochs("sklearn", fit, steps)


@pytest.mark.parametrize("fit", list(FITS))
def test_startup_fastbp_warm(benchmark, set_up, fit):
    kwargs = dict(cache_dir=set_up, fit=fit)
    if benchmark.disabled:
        steps = benchmark(run_child, "fastbp", **kwargs)
    else:
        steps = benchmark.pedantic(run_child, args=("fastbp",), kwargs=kwargs, rounds=ROUNDS)
    assert steps["compiled"] == 0, "a fit after the set-up compiled"
    record(benchmark, "fastbp", "warm", steps, fit)
    check_epochs("fastbp", fit, steps)


def check_epochs(system, fit, steps):
    """One epoch, or by default the same number of epochs in both libraries. The
    fastbp test runs after scikit-learn's and compares; if scikit-learn's did not
    run (``-k`` selected fastbp's alone), one scikit-learn child gives its count."""
    if fit == "one epoch":
        assert steps["n_iter"] == 1
        return
    if fit == "digits":
        assert steps["n_iter"] == 100
        return
    assert 1 < steps["n_iter"] < 200, steps  # stopped by the rule, not by max_iter
    DEFAULT_EPOCHS[system] = steps["n_iter"]
    if system == "fastbp":
        if "sklearn" not in DEFAULT_EPOCHS:
            DEFAULT_EPOCHS["sklearn"] = run_child("sklearn", fit="default")["n_iter"]
        assert DEFAULT_EPOCHS["fastbp"] == DEFAULT_EPOCHS["sklearn"], DEFAULT_EPOCHS


def test_startup_fastbp_cold(benchmark, tmp_path):
    if benchmark.disabled:
        pytest.skip("a cold Numba cache compiles every kernel (~10 s): benchmark runs only")
    dirs = iter(tmp_path / f"cache{i}" for i in range(COLD_ROUNDS))

    def fresh_cache():
        return ("fastbp", next(dirs)), {}

    steps = benchmark.pedantic(run_child, setup=fresh_cache, rounds=COLD_ROUNDS)
    assert steps["compiled"] > 0
    record(benchmark, "fastbp", "cold", steps, "one epoch")


def test_startup_setup_compile(benchmark, tmp_path):
    """``fastbp compile`` on an empty cache, in a fresh process: the set-up's time."""
    if benchmark.disabled:
        pytest.skip("the set-up compiles every kernel (~10 s): benchmark runs only")
    dirs = iter(tmp_path / f"cache{i}" for i in range(COLD_ROUNDS))

    def fresh_cache():
        return (next(dirs),), {}

    reported = benchmark.pedantic(run_setup, setup=fresh_cache, rounds=COLD_ROUNDS)
    benchmark.group = "startup"
    benchmark.extra_info.update(
        system="fastbp compile", cache="empty", fit=None, reported_s=reported
    )
