"""``fastbp compile``: compile every kernel signature fastbp can reach, once, so that
no fit, prediction or gradient compiles in front of its user.

The signatures are ``_kernels.signatures``'. What is already in Numba's cache
(``_kernels.cache``) is not compiled again: after the first set-up, or when
another process compiled it, this takes the time to check the cache.

Compiling runs in worker processes, one kernel (all its signatures) per task, in
two rounds: the kernels only kernels call, then those Python calls, which then
load their callees from the cache instead of compiling them again. No two
processes ever compile the same kernel: within a set-up each kernel is one
task, and two set-ups (two ``make test`` at once, a set-up while another runs)
take turns on a lock file beside the kernels' cache.
"""

import contextlib
import multiprocessing
import os
import sys
import time
from collections import namedtuple
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numba

from ._kernels import signatures

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: set-ups do not wait for each other
    fcntl = None

Compiled = namedtuple("Compiled", "name signatures compiled seconds others")
Compiled.__doc__ = """One kernel's set-up: its name, its signatures, how many of them were
compiled (the rest loaded from the cache), the seconds it took, and the names of
the other kernels that compiled meanwhile (a callee signature missing from
``signatures.CALLEES``: empty unless fastbp has a bug)."""

Report = namedtuple("Report", "kernels seconds cache_dir")


def _name(kernel):
    return f"{kernel.py_func.__module__}.{kernel.py_func.__name__}"


def _find(name):
    for kernel in signatures.kernels():
        if _name(kernel) == name:
            return kernel
    raise KeyError(name)


def compile_kernel(name):
    """Compile (or load from the cache) every signature of the kernel ``name``, in
    this process: a ``Compiled``."""
    from numba.core import event

    kernel = _find(name)
    start = time.perf_counter()
    compiled, others = 0, set()
    with event.install_recorder("numba:compile") as recorder:
        for args in signatures.examples(kernel):
            kernel.compile(tuple(numba.typeof(a) for a in args))
    for _, ev in recorder.buffer:
        if ev.is_start:
            dispatcher = ev.data["dispatcher"]
            if dispatcher is kernel:
                compiled += 1
            elif hasattr(dispatcher, "py_func") and dispatcher.py_func.__module__.startswith(
                "fastbp."
            ):
                others.add(_name(dispatcher))
    n = len(signatures.examples(kernel))
    return Compiled(name, n, compiled, time.perf_counter() - start, sorted(others))


def missing():
    """The names of the kernels with a signature not in the cache yet, in the order
    to compile them (callees first)."""
    names = []
    for kernel in signatures.kernels():
        sigs = [tuple(numba.typeof(a) for a in args) for args in signatures.examples(kernel)]
        if not all(kernel._cache.has(sig, kernel.targetctx.codegen()) for sig in sigs):
            names.append(_name(kernel))
    return names


def cache_dir():
    """Where Numba caches fastbp's kernels (the callers' directory)."""
    return signatures.CALLERS[0]._cache.cache_path


@contextlib.contextmanager
def _one_setup_at_a_time(say):
    """Hold the set-up lock (a file beside the kernels' cache); while another
    process holds it, say so and wait."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    signatures.CALLERS[0]._cache.ensure_cache_path()
    with open(os.path.join(cache_dir(), "fastbp-setup.lock"), "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("fastbp compile: waiting for another set-up to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def compile_all(workers=None, progress=None, say=print):
    """Compile every signature missing from the cache: a ``Report``.

    ``workers``: how many processes compile (by default one per CPU, at most one
    per kernel); 1 compiles in this process. ``progress(total)``: a tqdm-like bar
    (``update(n)``, ``close()``) for ``total`` kernels, or None.
    """
    start = time.perf_counter()
    done = []
    with _one_setup_at_a_time(say):
        todo = missing()
        bar = progress(len(todo)) if progress is not None and todo else None
        try:
            workers = min(workers or os.cpu_count() or 1, len(todo))
            for result in (_in_parallel if workers > 1 else _in_turn)(todo, workers):
                done.append(result)
                bar is not None and bar.update(1)
        finally:
            bar is not None and bar.close()
    return Report(done, time.perf_counter() - start, cache_dir())


def _in_turn(names, workers):
    for name in names:  # (callees before their callers: the order of signatures.kernels)
        yield compile_kernel(name)


def _in_parallel(names, workers):
    """Compile each kernel in one of ``workers`` processes once those it calls are done."""
    waits_for = {
        name: {_name(k) for k in signatures.calls(_find(name))} & set(names) for name in names
    }
    # Forked workers start with fastbp imported (DESIGN.md: the set-up's time); this
    # process has compiled nothing and calls no BLAS meanwhile. Where forking is
    # unsafe (macOS) or missing, they start anew.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        running = set()
        while waits_for or running:
            for name in [n for n, deps in waits_for.items() if not deps]:
                del waits_for[name]
                running.add(pool.submit(compile_kernel, name))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                for deps in waits_for.values():
                    deps.discard(result.name)
                yield result


def main(args):
    """The command: compile, with a bar where tqdm is installed, and say how long it took."""
    if not hasattr(signatures.CALLERS[0], "py_func"):
        print("fastbp compile: NUMBA_DISABLE_JIT is set: nothing to compile")
        return 0
    progress = None
    if not args.quiet:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:

            def progress(total):
                return tqdm(total=total, unit="kernel", desc="fastbp compile", leave=False)

    report = compile_all(args.workers, progress)
    compiled = sum(k.compiled for k in report.kernels)
    total = sum(len(signatures.examples(k)) for k in signatures.kernels())
    print(
        f"fastbp compile: {compiled} of {total} kernel signatures compiled in "
        f"{report.seconds:.1f} s, the others were cached ({report.cache_dir})"
    )
    strays = sorted({name for k in report.kernels for name in k.others})
    if strays:  # pragma: no cover - a signature missing from the list is a bug
        print(
            f"fastbp compile: also compiled {', '.join(strays)}: a signature is missing "
            "from fastbp/_kernels/signatures.py (please report this)",
            file=sys.stderr,
        )
        return 1
    return 0
