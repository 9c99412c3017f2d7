"""Reading the figures the benchmarks wrote, for bench/report.py: the JSON files
(results.json from pytest-benchmark, .memory.json, interleaved.json, scaling.json,
threads.json, split_batch.json) and what the report computes from them alone.
Nothing is judged or written here."""

import json
from pathlib import Path

from bench.cases import CASES, epoch_flops


def load(name, where):
    """The JSON file ``name`` in the folder ``where``, or None if the run did not
    write it (its step was skipped or failed)."""
    path = Path(where) / name
    return json.loads(path.read_text()) if path.exists() else None


def benchmarks(results, prefix):
    return [b for b in (results or {}).get("benchmarks", []) if b["name"].startswith(prefix)]


def epoch_times(results):
    """{(case, dtype): {system: seconds per epoch}}."""
    times = {}
    for b in benchmarks(results, "test_epoch["):
        info = b["extra_info"]
        times.setdefault((info["case"], info["dtype"]), {})[info["system"]] = info[
            "seconds_per_epoch"
        ]
    return times


def epoch_infos(results):
    """{(case, dtype, system): extra_info} of the epoch benchmarks."""
    return {
        (b["extra_info"]["case"], b["extra_info"]["dtype"], b["extra_info"]["system"]): b[
            "extra_info"
        ]
        for b in benchmarks(results, "test_epoch[")
    }


def gemm_rates(results):
    """{(kind, dtype): GFLOP/s}, kind "square" or "epoch-<case>"."""
    return {
        (b["extra_info"]["kind"], b["extra_info"]["dtype"]): b["extra_info"]["gflops"]
        for b in benchmarks(results, "test_gemm_")
    }


def epoch_gflops(case, seconds):
    """The GFLOP/s of an epoch of ``case`` that takes ``seconds``."""
    return epoch_flops(CASES[case]) / seconds / 1e9


def startup_times(results):
    """{(process, fit): (median s, rounds, steps)}: process "python", "sklearn",
    "fastbp (warm cache)", "fastbp (cold cache)" or the set-up, "fastbp compile (empty
    cache)"; fit "one epoch", "default", "digits" or None (python, the set-up). Runs
    written before the default fit was timed count as "one epoch"."""
    found = {}
    for b in benchmarks(results, "test_startup"):
        info = b["extra_info"]
        key = info["system"] + (f" ({info['cache']} cache)" if info.get("cache") else "")
        fit = info.get("fit", "one epoch" if info["system"] != "python" else None)
        found[key, fit] = (b["stats"]["median"], b["stats"]["rounds"], info.get("steps", {}))
    return found


def blas_thread_times(results):
    """{(case, dtype): {blas_limit: (seconds per epoch, BLAS threads)}}, blas_limit 1
    (one BLAS thread) or None (BLAS's default)."""
    found = {}
    for b in benchmarks(results, "test_blas_threads["):
        i = b["extra_info"]
        if "seconds_per_epoch" in i:
            found.setdefault((i["case"], i["dtype"]), {})[i["blas_limit"]] = (
                i["seconds_per_epoch"],
                i["blas_threads"],
            )
    return found
