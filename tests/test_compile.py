"""Compiled at set-up, never stale, safe in parallel (fastbp/_compile.py,
fastbp/_kernels/cache.py, fastbp/_kernels/signatures.py).

Each test works in a cache directory of its own (NUMBA_CACHE_DIR), in child
processes: what they check is what a fresh process finds on disk.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastbp._kernels import signatures

ROOT = Path(__file__).resolve().parent.parent
GRID = Path(__file__).resolve().parent / "compile_grid.py"

pytestmark = pytest.mark.skipif(
    not hasattr(signatures.CALLERS[0], "py_func"), reason="nothing compiles under NUMBA_DISABLE_JIT"
)


def run(args, cache, pythonpath=None, **kwargs):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=600, **kwargs
    )


def setup_command():
    return ["-c", "import sys; from fastbp.cli import main; sys.exit(main(sys.argv[1:]))"]


def grid(cache, *configs):
    """fastbp's kernels compiled while fitting the grid's ``configs`` (all by default)
    in a fresh process."""
    done = run([str(GRID), *configs], cache)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    if not found["compiled"]:
        assert found["events"] == 0, found  # nothing of Numba's either
    return found["compiled"]


@pytest.mark.slow
def test_two_setups_at_once_then_no_fit_compiles(tmp_path):
    # Two set-ups started together on an empty cache: one compiles while the other
    # waits for it, then finds everything cached.
    cmd = [sys.executable, *setup_command(), "compile", "--quiet"]
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    total = sum(len(signatures.examples(k)) for k in signatures.kernels())
    compiled = sorted(int(re.search(r"(\d+) of \d+ kernel signatures", out)[1]) for out, _ in outs)
    assert compiled == [0, total], outs
    assert any("waiting for another set-up" in out for out, _ in outs), outs
    # Everything loads: a grid of configurations, every kernel entry point Python
    # calls, both dtypes, in a fresh process compiles nothing.
    assert grid(tmp_path) == []
    # and a kernel generated for a tiny architecture compiles only itself
    compiled = grid(tmp_path, "generated float64", "generated float32")
    assert len(compiled) == 2, compiled
    assert all(n.startswith("fastbp._kernels.generated_k_") for n in compiled), compiled
    assert all(n.endswith(".run_epoch") for n in compiled), compiled
    # (an estimator's fit compiles its run_epochs too)
    compiled = grid(tmp_path, "generated estimator")
    assert sorted(n.rsplit(".", 1)[1] for n in compiled) == ["run_epoch", "run_epochs"], compiled


@pytest.mark.slow
def test_a_missing_signature_is_found(tmp_path):
    # The same grid sees it when the set-up leaves a kernel out (as it would a
    # signature missing from the list).
    code = (
        "import sys; from fastbp._kernels import lbfgs, signatures; "
        "signatures.CALLERS = tuple(k for k in signatures.CALLERS if k is not lbfgs.run_lbfgs); "
        "from fastbp import _compile; _compile.compile_all(workers=1)"
    )
    done = run(["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(grid(tmp_path, "lbfgs float64")) == {"fastbp._kernels.lbfgs.run_lbfgs"}


NEVER_STALE = """
import sys
import numpy as np
from numba.core import event
import fastbp
from fastbp import Network
from fastbp._shuffle import Shuffler

with event.install_recorder("numba:compile") as recorder:
    net = Network([1, 1], activation="identity", random_state=0)
    net.params[:] = [2.0, 0.5]
    out = net.forward(np.array([[1.0], [-3.0]]))[:, 0]
    Shuffler(np.random.RandomState(0))(np.arange(5))
events = [ev.data["dispatcher"] for _, ev in recorder.buffer if ev.is_start]
funcs = [d.py_func for d in events if hasattr(d, "py_func")]
names = sorted({f.__name__ for f in funcs if f.__module__.startswith("fastbp.")})
print(fastbp.__file__)
print(out.tolist(), names)
"""


@pytest.mark.slow
def test_an_edited_callee_is_never_stale(tmp_path):
    # In a copy of the package, predict runs the identity activation inlined from
    # activations.py. Editing it there changes what predict computes, with nothing
    # cleared; the kernels that do not use it (the shuffle) stay cached.
    package = tmp_path / "src"
    shutil.copytree(
        ROOT / "fastbp", package / "fastbp", ignore=shutil.ignore_patterns("__pycache__")
    )
    cache = tmp_path / "cache"
    script = ["-c", NEVER_STALE]

    def child():
        done = run(script, cache, pythonpath=package, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        where, out = done.stdout.strip().split("\n")
        assert where == str(package / "fastbp" / "__init__.py")  # the copy runs
        return out

    first = child()
    assert first.startswith("[2.5, -5.5]"), first
    assert "shuffle" in first and "predict" in first  # compiled: a fresh cache
    assert child() == "[2.5, -5.5] []"  # all loaded from the cache
    activations = package / "fastbp" / "_kernels" / "activations.py"
    text = activations.read_text()
    edited = text.replace(ANCHOR, ANCHOR + EDIT)
    assert edited != text, "the identity activation's code moved: update this test"
    activations.write_text(edited)
    assert child() == "[5.0, -11.0] ['forward_pass', 'predict']"


# the identity activation (code 0, no branch of its own) doubled: an edit whose
# effect shows
ANCHOR = "    start, end = off, off + n * m\n"
EDIT = """    if code == 0:
        for i in range(start, end):
            buf[i] *= 2
        return
"""


def test_the_fingerprint_follows_every_kernel_import():
    # The fingerprint reads imports with a pattern (fast); ast says what they are.
    import ast

    from fastbp._kernels import cache, generated

    def imports(path):
        found = set()
        for node in ast.parse(Path(path).read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found.update([node.module] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "fastbp._kernels."
            ):
                found.add(node.module.split(".")[2])
        return {cache.KERNELS / f"{name}.py" for name in found} & set(cache.KERNELS.glob("*.py"))

    generated_kernel = Path(generated.module_file(generated.source((1, 2, 1), 4, 0, 0)))
    paths = [*cache.KERNELS.glob("*.py"), generated_kernel]
    for path in paths:
        if path.name != "generated.py":  # (its template's imports count too: more, not fewer)
            assert cache._kernel_imports(path) == imports(path), path
    assert cache.KERNELS / "shared.py" in cache._kernel_imports(generated_kernel)
