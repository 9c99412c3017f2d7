"""`fastbp bench`: runs the suite of a source checkout, or says where to find one."""

import shutil
import subprocess
import sys
from pathlib import Path

from fastbp import cli

ROOT = Path(__file__).resolve().parent.parent


def fastbp(*args, cwd=ROOT, pythonpath=None):
    code = "import sys; from fastbp.cli import main; sys.exit(main(sys.argv[1:]))"
    if pythonpath:
        code = f"import sys; sys.path.insert(0, {str(pythonpath)!r}); " + code
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def main(capsys, *args):
    """Run ``fastbp ARGS`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(list(args))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bench_help_says_what_it_runs(capsys):
    code, out, _ = main(capsys, "bench", "--help")
    assert code == 0
    text = " ".join(out.split())
    for words in ("make bench", "bench/RESULTS.md", "source checkout", "-k EXPR", "--dry-run"):
        assert words in text


def test_bench_runs_what_make_bench_runs(capfd):
    code, out, err = main(capfd, "bench", "--dry-run")
    assert code == 0, err
    steps = out.strip().splitlines()[1:]  # after "running the suite of ..."
    assert [s.split()[1:3] for s in steps] == [
        ["-m", "pytest"],
        ["-m", "bench.interleaved"],
        ["-m", "bench.whole_fits"],
        ["-m", "bench.many"],
        ["-m", "bench.scaling"],
        ["-m", "bench.threads"],
        ["-m", "bench.split_batch"],
        ["-m", "bench.report"],
    ]
    assert "--benchmark-enable" in steps[0]
    # The Makefile's bench target runs the same module after installing the peers.
    makefile = (ROOT / "Makefile").read_text()
    target = makefile[makefile.index("\nbench:") :].split("\n\n")[0]
    assert "$(PY) -m bench" in target


def test_bench_passes_its_options_on(capfd):
    code, out, err = main(
        capfd, "bench", "--dry-run", "-k", "small", "--skip", "threads", "split_batch"
    )
    assert code == 0, err
    steps = out.strip().splitlines()[1:]
    assert steps[0].endswith("-k small")
    assert [s.split()[2] for s in steps] == [
        "pytest",
        "bench.interleaved",
        "bench.whole_fits",
        "bench.many",
        "bench.scaling",
        "bench.report",
    ]
    # every step python -m bench can leave out (the README's quick run)
    skip = ["interleaved", "whole_fits", "many", "scaling", "threads", "split_batch"]
    code, out, err = main(capfd, "bench", "--dry-run", "--skip", *skip)
    assert code == 0, err
    assert [s.split()[2] for s in out.strip().splitlines()[1:]] == ["pytest", "bench.report"]


def test_bench_outside_a_checkout_says_what_to_do(tmp_path):
    # fastbp installed without its repository (as from a wheel), run from elsewhere.
    site = tmp_path / "site"
    shutil.copytree(ROOT / "fastbp", site / "fastbp", ignore=shutil.ignore_patterns("__pycache__"))
    out = fastbp("bench", "--dry-run", cwd=tmp_path, pythonpath=site)
    assert out.returncode == 1
    assert out.stdout == ""
    assert "not part of the installed package" in out.stderr and "make bench" in out.stderr


def test_find_checkout_prefers_the_imported_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.find_checkout() == ROOT
