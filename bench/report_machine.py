"""The machine bench/report.py runs on, for its "Machine" section: cores, CPU,
library versions and the BLAS libraries loaded. ``make bench`` runs the report on
the machine that ran the benchmarks, so this describes that one."""

import importlib.metadata
import os
import platform
from pathlib import Path


def version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown"
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name", "unknown")
    extra = [f"family {fields['cpu family']}" if "cpu family" in fields else None]
    extra.append(f"model {fields['model']}" if "model" in fields else None)
    flags = fields.get("flags", "").split()
    extra.append("AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else None))
    if "cpu MHz" in fields:
        extra.append(f"{float(fields['cpu MHz']) / 1000:.2f} GHz")
    return model + " (" + ", ".join(e for e in extra if e) + ")"


def blas():
    """numpy's BLAS as numpy.show_config reports it, and what threadpoolctl sees loaded
    (numpy's, and SciPy's, which fastbp's kernels call, as Numba's np.dot does)."""
    import numpy as np

    lines = []
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        lines.append(
            f"numpy's BLAS (numpy.show_config): {cfg.get('name')} {cfg.get('version')}"
            f" (`{cfg.get('openblas configuration', '').strip()}`)"
        )
    except Exception as e:  # noqa: BLE001 - a report must still be written
        lines.append(f"numpy's BLAS: unknown ({e})")
    try:
        import scipy.linalg  # noqa: F401 - loads SciPy's BLAS, so threadpoolctl sees it
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                lines.append(
                    f"loaded at run time (threadpoolctl): {Path(lib['filepath']).name}, "
                    f"{lib['internal_api']} {lib['version']}, {lib.get('architecture')} kernels, "
                    f"{lib['num_threads']} threads"
                )
    except Exception:  # noqa: BLE001
        pass
    return lines


def machine(results):
    """The "Machine" section: the run's date and commit (from results.json), then
    this machine."""
    libs = ["numpy", "numba", "llvmlite", "scipy", "scikit-learn", "torch", "jax", "jaxlib"]
    versions = ", ".join(f"{d} {version(d)}" for d in libs if version(d))
    date = results.get("datetime") if results else None
    commit = (results or {}).get("commit_info", {})
    out = [
        f"- Run: {date or 'unknown date'}"
        + (f", fastbp commit {commit['id'][:7]}" if commit.get("id") else "")
        + (" (with uncommitted changes)" if commit.get("dirty") else ""),
        f"- Cores: {os.cpu_count()} (nproc); CPU: {cpu_model()}",
        f"- Python {platform.python_version()}; {versions}",
    ]
    out += [f"- {line}" for line in blas()]
    return "\n".join(out)
