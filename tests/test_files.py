"""Files replaced whole (fastbp._files): fastbp.save and plot_loss_curve (and the
benchmark reports, bench/test_report.py) leave the old file or the whole new one,
whatever stops them.

Real faults: a file-size limit in a child (writes fail with EFBIG, as on a full
disk), a directory the process may not write, SIGKILL at random moments of a
child's save loop and between a save's write and its rename, KeyboardInterrupt
in the middle of a write.
"""

import os
import random
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import fastbp
from fastbp import MLPRegressor, _files

HERE = Path(__file__).resolve().parent


def _model(hidden, seed=0):
    rng = np.random.RandomState(seed)
    X, y = rng.normal(size=(50, 8)), rng.normal(size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPRegressor(hidden_layer_sizes=hidden, max_iter=2, random_state=seed).fit(X, y)


def _same_model(a, b):
    return all(
        np.array_equal(u, v) for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


def _partials(directory):
    return sorted(p.name for p in Path(directory).iterdir() if _files.is_partial(p))


def _child(code, *args, preexec_fn=None, prefix=()):
    """Run ``code`` in a fresh interpreter with ``args``; its CompletedProcess."""
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec_fn,
    )


# A child that saves model argv[2] over argv[1] under a 64 KiB file-size limit.
LIMITED_SAVE = """
import pickle, resource, signal, sys
import fastbp
model = pickle.load(open(sys.argv[2], "rb"))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that writes fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
try:
    fastbp.save(model, sys.argv[1])
except OSError as exc:
    print("OSError", exc.errno)
"""


def test_a_save_that_hits_the_file_size_limit_keeps_the_old_file(tmp_path):
    import errno
    import pickle

    path = tmp_path / "model.npz"
    old, new = _model((4,)), _model((300, 300), seed=1)
    fastbp.save(old, path)
    before = path.read_bytes()
    with open(tmp_path / "new.pkl", "wb") as f:
        pickle.dump(new, f)
    proc = _child(LIMITED_SAVE, path, tmp_path / "new.pkl")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["OSError", str(errno.EFBIG)]
    assert path.read_bytes() == before
    assert _same_model(fastbp.load(path), old)
    assert _partials(tmp_path) == []


def test_the_file_size_limit_test_can_fail(tmp_path, monkeypatch):
    """What the test above guards against: a save that writes in place, truncated."""
    import pickle

    path = tmp_path / "model.npz"
    fastbp.save(_model((4,)), path)
    with open(tmp_path / "new.pkl", "wb") as f:
        pickle.dump(_model((300, 300), seed=1), f)
    code = LIMITED_SAVE.replace(
        "import fastbp\n",
        "import fastbp, fastbp._archive as A\nA.replace_file = lambda p, w: w(open(p, 'wb'))\n",
    )
    proc = _child(code, path, tmp_path / "new.pkl")
    assert "OSError" in proc.stdout, proc.stderr[-2000:]
    with pytest.raises(ValueError, match="truncated or damaged"):
        fastbp.load(path)


def _without_write_permission():
    """How to run a child that the file permissions bind: root is not bound by them
    unless its capability to override them is dropped (util-linux's setpriv)."""
    if os.geteuid() != 0:
        return ()
    setpriv = "/usr/bin/setpriv"
    if not os.path.exists(setpriv):
        pytest.skip("running as root without setpriv: permissions do not bind root")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner")


def test_a_save_into_a_read_only_directory_keeps_the_old_file(tmp_path):
    directory = tmp_path / "models"
    directory.mkdir()
    path = directory / "model.npz"
    old = _model((4,))
    fastbp.save(old, path)
    before = path.read_bytes()
    code = """
import sys, numpy as np, fastbp
model = fastbp.load(sys.argv[1])
model.coefs_[0][...] = 0.5
try:
    fastbp.save(model, sys.argv[1])
except PermissionError as exc:
    print("PermissionError", exc.filename)
"""
    directory.chmod(0o555)
    try:
        proc = _child(code, path, prefix=_without_write_permission())
    finally:
        directory.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["PermissionError", str(path)]  # named as the caller did
    assert path.read_bytes() == before
    assert _partials(directory) == []


SAVE_LOOP = """
import pickle, sys
import fastbp
models = pickle.load(open(sys.argv[2], "rb"))
print("READY", flush=True)
i = 0
while True:
    fastbp.save(models[i % 2], sys.argv[1])
    i += 1
"""


@pytest.mark.slow
def test_sigkill_at_random_moments_of_a_save_loop_leaves_one_whole_model(tmp_path):
    import pickle

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    models = [_model((200, 100), seed=1), _model((200, 100), seed=2)]
    with open(tmp_path / "models.pkl", "wb") as f:
        pickle.dump(models, f)
    path = tmp_path / "model.npz"
    fastbp.save(models[1], path)
    outcomes = []
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", SAVE_LOOP, str(path), str(tmp_path / "models.pkl")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline() == "READY\n"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        loaded = fastbp.load(path)  # never a part of a file
        which = [i for i, m in enumerate(models) if _same_model(loaded, m)]
        assert len(which) == 1, f"seed {seed}"
        outcomes.append(which[0])
        for name in _partials(tmp_path):  # what a kill left: recognisable, refused
            with pytest.raises(ValueError, match="temporary file of a save that was killed"):
                fastbp.load(tmp_path / name)
            (tmp_path / name).unlink()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "models.pkl"]


def test_a_kill_between_the_write_and_the_rename_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    old = _model((4,))
    fastbp.save(old, path)
    code = """
import os, signal, sys, fastbp
model = fastbp.load(sys.argv[1])
model.coefs_[0][...] = 0.5
os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
fastbp.save(model, sys.argv[1])
"""
    proc = _child(code, path)
    assert proc.returncode == -signal.SIGKILL
    assert _same_model(fastbp.load(path), old)
    (partial,) = _partials(tmp_path)
    assert partial.startswith(".model.npz.") and partial.endswith(".fastbp-partial")
    with pytest.raises(ValueError, match="temporary file of a save that was killed"):
        fastbp.load(tmp_path / partial)


def test_an_interrupt_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = _model((4,))
    fastbp.save(old, path)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fastbp.save(_model((6,)), path)
    assert path.read_bytes() == before
    assert _partials(tmp_path) == []


def test_a_writer_that_fails_leaves_no_file_and_no_partial(tmp_path):
    def fails(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _files.replace_file(tmp_path / "new.bin", fails)
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_gets_the_permissions_open_gives(tmp_path):
    old_umask = os.umask(0o027)
    try:
        fastbp.save(_model((4,)), tmp_path / "a.npz")
        with open(tmp_path / "b.npz", "w"):
            pass
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE((tmp_path / "a.npz").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "b.npz").stat().st_mode) == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "model.npz"
    fastbp.save(_model((4,)), path)
    path.chmod(0o600)
    fastbp.save(_model((6,)), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_through_a_symlink_the_file_it_points_to_is_replaced(tmp_path):
    target, link = tmp_path / "real.npz", tmp_path / "link.npz"
    fastbp.save(_model((4,)), target)
    link.symlink_to(target)
    new = _model((6,))
    fastbp.save(new, link)
    assert link.is_symlink() and _same_model(fastbp.load(target), new)


def test_a_device_is_written_in_place_not_replaced(tmp_path):
    fastbp.save(_model((4,)), "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_loss_plot_that_fails_keeps_the_old_image(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    path = tmp_path / "loss.png"
    model = _model((4,))
    fastbp.plot_loss_curve(model, path)
    before = path.read_bytes()
    real = Figure.savefig

    def savefig(self, fname, **kwargs):
        real(self, fname, **kwargs)
        raise KeyboardInterrupt  # after the image is written, before the rename

    monkeypatch.setattr(Figure, "savefig", savefig)
    with pytest.raises(KeyboardInterrupt):
        fastbp.plot_loss_curve(model, path)
    assert path.read_bytes() == before
    assert _partials(tmp_path) == []


SLOW_SAVE = """
import os, signal, sys, threading, time
import numpy as np
from fastbp import _files
def write(f):
    for _ in range(20):  # a slow write: the SIGINT comes in the middle of it
        f.write(b"new" * 1000)
        time.sleep(0.01)
threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    _files.replace_file(sys.argv[1], write)
except KeyboardInterrupt:
    print("INTERRUPTED")
"""


def test_ctrl_c_in_the_middle_of_a_write_is_taken_once_the_file_is_whole(tmp_path):
    """A real SIGINT while the new file is written: held until it is in place (or
    cleaned up), then raised; never a part of a file, never a temporary left."""
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    proc = _child(SLOW_SAVE, path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["INTERRUPTED"]
    assert path.read_bytes() == b"new" * 20000
    assert _partials(tmp_path) == []


def test_long_names_in_any_script_are_saved(tmp_path):
    """The temporary file's name is cut in bytes, not characters: a name open()
    takes, of 254 bytes of two-byte characters, is saved too."""
    path = tmp_path / ("é" * 127)
    assert len(os.fsencode(path.name)) == 254
    with open(path, "wb"):  # what open takes
        pass
    fastbp.save(_model((4,)), path)
    assert _same_model(fastbp.load(path), _model((4,)))
    assert _partials(tmp_path) == []


def test_a_file_open_may_not_write_is_refused_and_kept(tmp_path):
    path = tmp_path / "model.npz"
    fastbp.save(_model((4,)), path)
    before = path.read_bytes()
    path.chmod(0o444)
    code = """
import sys, fastbp
model = fastbp.load(sys.argv[1])
for write in (lambda: open(sys.argv[1], "w"), lambda: fastbp.save(model, sys.argv[1])):
    try:
        write()
    except PermissionError:
        print("PermissionError")
"""
    proc = _child(code, path, prefix=_without_write_permission())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["PermissionError"] * 2  # as open says, save says
    assert path.read_bytes() == before and _partials(tmp_path) == []


def test_a_path_ending_in_a_separator_is_a_directory_as_for_open(tmp_path):
    with pytest.raises(IsADirectoryError):
        fastbp.save(_model((4,)), str(tmp_path / "model.npz") + os.sep)
    assert list(tmp_path.iterdir()) == []


def test_a_name_of_fastbps_temporary_files_is_refused(tmp_path):
    with pytest.raises(ValueError, match="temporary files"):
        fastbp.save(_model((4,)), tmp_path / ".model.npz.0123abcd.fastbp-partial")
    assert list(tmp_path.iterdir()) == []


def test_the_demo_writes_the_format_its_name_says(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from fastbp.cli import save_figure

    fig = Figure()
    fig.add_subplot().plot([1, 2])
    for name, magic in (
        ("a.png", b"\x89PNG"),
        ("a.pdf", b"%PDF"),
        ("a.svg", b"<?xml"),
        ("a", b"\x89PNG"),
    ):
        save_figure(fig, tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(magic)
