"""Time to first result in a fresh process: import + the seed case's fit + a prediction.

Each round is one ``python -c`` subprocess, timed with time.perf_counter around
subprocess.run (pytest-benchmark's timer), so interpreter start-up and exit count
too. The child builds the seed case's data (bench/cases.py), imports the library,
fits one epoch and predicts 5 rows, and prints how long each step took
(extra_info "steps": data, import, fit, predict, in seconds).

- fastbp, cold cache: NUMBA_CACHE_DIR is a fresh empty directory every round, so
  every kernel the fit and the prediction need is compiled.
- fastbp, warm cache: the same directory filled by one earlier process.
- scikit-learn: its import + the same fit and prediction.
- python + numpy: the child without any library, the floor under all of them.

Two fits, each in its own rows:

- "one epoch" (max_iter=1): what a fresh process adds before the training that
  the epoch benchmarks measure; the fixed cost alone.
- "default": the seed case's fit as ``fit`` runs it by default, to scikit-learn's
  stopping rule (max_iter=200, tol=1e-4, n_iter_no_change=10). Both libraries stop
  after the same epoch (19 here: fastbp takes scikit-learn's steps), which the
  child reports ("n_iter") and the benchmark checks.

Python's bytecode: scikit-learn's modules are byte-compiled (pip compiles a
package's .py files when it installs it), and fastbp, installed here in editable
mode, is byte-compiled the same way before the first child (compileall, as pip
would). Without it, under PYTHONDONTWRITEBYTECODE=1 (set on the machines this
bench was written on) every fastbp child compiled fastbp's source afresh: ~30 ms
more per import (-X importtime: fastbp's own modules 41-56 ms without their
.pyc files, 13-21 ms with them), a cost no installed copy has.

No run reads or writes the repository's own Numba cache (fastbp/__pycache__):
every fastbp child gets a temporary NUMBA_CACHE_DIR, and reports where its
kernels' caches are, which the tests check. With benchmarking disabled (plain
``pytest``) the cold-cache benchmark is skipped (a cold compile takes ~10 s) and
the warm one runs once, on a temporary copy of the repository's cache (a warm
start as a user has it, without compiling).
"""

import compileall
import json
import os
import shutil
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
from bench.cases import CASES, make_data
case = CASES["seed"]
X, y = make_data(case, "float64")
t1 = time.perf_counter()
{import_}
t2 = time.perf_counter()
steps = {{"data": t1 - t0, "import": t2 - t1}}
if {fit}:
    est = MLPRegressor(hidden_layer_sizes=case.hidden, activation=case.activation, solver="sgd",
                       momentum=0.0, learning_rate_init=0.01, batch_size=case.batch_size,
                       random_state=0, {max_iter})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    t3 = time.perf_counter()
    pred = est.predict(X[:5])
    t4 = time.perf_counter()
    assert np.all(np.isfinite(pred)) and pred.shape == (5,)
    steps.update(fit=t3 - t2, predict=t4 - t3, n_iter=est.n_iter_)
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
    "fastbp": ("from fastbp import MLPRegressor", True),
    "sklearn": ("from sklearn.neural_network import MLPRegressor", True),
    "python": ("", False),
}


# The fits (see the module's docstring): keyword arguments of MLPRegressor.
FITS = {"one epoch": "max_iter=1", "default": ""}


def child_code(system, fit="one epoch"):
    import_, fits = IMPORTS[system]
    return CHILD.format(import_=import_, fit=fits, fastbp=system == "fastbp", max_iter=FITS[fit])


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


def copy_repo_cache(cache_dir):
    """Copy the repository's Numba cache to where Numba looks for it under
    NUMBA_CACHE_DIR=cache_dir (numba.core.caching's layout: one directory per
    source directory, named after it and a hash of its path). Entries that do not
    match the sources are ignored by Numba, which then compiles: slower, still right."""
    from numba.core.caching import _CacheLocator

    src = ROOT / "fastbp"
    dest = Path(cache_dir) / _CacheLocator.get_suitable_cache_subpath(str(src / "__init__.py"))
    dest.mkdir(parents=True, exist_ok=True)
    for path in (src / "__pycache__").glob("*.nb[ic]"):
        shutil.copy2(path, dest / path.name)


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
def test_startup_fastbp_warm(benchmark, tmp_path, fit):
    kwargs = dict(cache_dir=tmp_path, fit=fit)
    if benchmark.disabled:
        copy_repo_cache(tmp_path)
        steps = benchmark(run_child, "fastbp", **kwargs)
    else:
        run_child("fastbp", **kwargs)  # fill the cache
        steps = benchmark.pedantic(run_child, args=("fastbp",), kwargs=kwargs, rounds=ROUNDS)
        assert any(tmp_path.rglob("*.nbc")), "Numba wrote no cache: the warm runs compiled"
    record(benchmark, "fastbp", "warm", steps, fit)
    check_epochs("fastbp", fit, steps)


def check_epochs(system, fit, steps):
    """One epoch, or by default the same number of epochs in both libraries. The
    fastbp test runs after scikit-learn's and compares; if scikit-learn's did not
    run (``-k`` selected fastbp's alone), one scikit-learn child gives its count."""
    if fit == "one epoch":
        assert steps["n_iter"] == 1
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
    record(benchmark, "fastbp", "cold", steps, "one epoch")
