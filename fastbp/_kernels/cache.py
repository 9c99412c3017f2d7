"""Numba's on-disk cache of the kernels: never stale, safe in parallel.

Never stale: Numba stamps a kernel's cached code with its own file's content
only, while kernels inline functions of other files: an edited callee left the
caller's old machine code in use. Here the stamp is a fingerprint of the
kernel's module and of every kernel module it imports, directly or not (and of
Numba's and llvmlite's versions), so that an edit invalidates the code of the
kernels that use it, and nothing else.

Safe in parallel: Numba writes a kernel's cache index without a lock, so two
processes saving the same kernel at once may both take the same data file for
different signatures. Saves here hold a lock on a file beside the index
(``fcntl``; where it is missing, Windows, they do not).

Where the cache lives is Numba's choice, as for any kernel (``NUMBA_CACHE_DIR``,
else beside the sources, else the user's cache directory).
"""

import contextlib
import functools
import hashlib
import os
import re
from pathlib import Path

import llvmlite
import numba
from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator

from . import _flavor

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

KERNELS = Path(__file__).resolve().parent


# A module-level import of kernel modules: "from .forward import ...", "from . import
# (forward, ...)", or a generated kernel's "from fastbp._kernels.forward import ...".
# (Read with a pattern rather than ast: parsing every kernel module at import took
# longer than all of fastbp's own import.)
_IMPORT = re.compile(r"^from +(\.|fastbp\._kernels\.?)(\w*) +import +(?:\(([^)]*)\)|(.*))", re.M)


@functools.cache
def _kernel_imports(path):
    """The kernel modules (files of this package) the Python file ``path`` imports."""
    names = set()
    for match in _IMPORT.finditer(Path(path).read_text()):
        _, module, in_parentheses, on_the_line = match.groups()
        if module:
            names.add(module)
        else:
            imported = in_parentheses if in_parentheses is not None else on_the_line
            names.update(name.split("#")[0].strip() for name in imported.split(","))
    return {KERNELS / f"{name}.py" for name in names if name and (KERNELS / f"{name}.py").exists()}


@functools.cache
def fingerprint(path):
    """A hash of the file ``path``, of every kernel module it imports, directly or
    through others, of Numba's and llvmlite's versions and of which exp and tanh
    NumPy computes (``_flavor``)."""
    seen, todo = set(), [Path(path).resolve()]
    while todo:
        file = todo.pop()
        if file not in seen:
            seen.add(file)
            todo.extend(_kernel_imports(file))
    # (numpy_math compiles NumPy's exp and tanh, or the C library's)
    facts = f"{numba.__version__} {llvmlite.__version__} {_flavor.SVML} {_flavor.NUMPY_TANH}"
    digest = hashlib.sha256(facts.encode())
    for file in sorted(seen):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


class _Locator(_CacheLocator):
    """Numba's own locator for the function, with the fingerprint as source stamp."""

    def __init__(self, inner, py_file):
        self._inner, self._py_file = inner, py_file

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return fingerprint(self._py_file)

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        for locator in CompileResultCacheImpl._locator_classes:
            inner = locator.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner, py_file)
        return None


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class KernelCache(FunctionCache):
    """Numba's cache of one kernel, stamped with ``fingerprint`` and saved under a lock."""

    _impl_class = _Impl

    def save_overload(self, sig, data):
        with self.locked():
            super().save_overload(sig, data)

    def has(self, sig, codegen):
        """Whether the cache holds fresh code for ``sig`` (without loading it)."""
        return self._index_key(sig, codegen) in self._cache_file._load_index()

    def ensure_cache_path(self):
        self._impl.locator.ensure_cache_path()

    @contextlib.contextmanager
    def locked(self):
        """This kernel's lock, shared by every process using the same cache."""
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        self.ensure_cache_path()
        path = os.path.join(self._cache_path, self._impl.filename_base + ".lock")
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def use_kernel_cache(dispatcher):
    """Cache ``dispatcher`` (compiled with ``cache=True``) as ``KernelCache`` says."""
    if hasattr(dispatcher, "_cache"):  # (not under NUMBA_DISABLE_JIT)
        dispatcher._cache = KernelCache(dispatcher.py_func)
    return dispatcher
