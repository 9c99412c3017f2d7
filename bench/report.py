"""Write bench/RESULTS.md, bench/results.png and bench/scaling.png from the figures of
the last ``make bench``. Measures nothing itself; reads:

- bench/results.json: pytest-benchmark's JSON (``--benchmark-json``): seconds per
  epoch (test_bench_epochs.py), BLAS threads (test_bench_blas_threads.py), GEMM
  references (test_bench_gemm.py), start-up (test_bench_startup.py);
- bench/.memory.json: peak memory (test_bench_memory.py);
- bench/scaling.json: fastbp's epoch time against samples and width (scaling.py);
- bench/threads.json: thread-parallel fits (threads.py);
- bench/split_batch.json: minibatches split across the cores (split_batch.py).

Sections whose figures are missing are left out (split_batch: its committed
figures are quoted instead).

It describes the machine it runs on, which is the one that ran the benchmarks
when run by ``make bench``.

    python -m bench.report [--dir bench]

bench/test_report.py runs it on made-up figures.
"""

import importlib.metadata
import json
import math
import os
import platform
import sys
from pathlib import Path
from statistics import median

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import CASES, DTYPES, epoch_flops
from bench.peers import ENGINE, SYSTEMS, TIMED, available
from fastbp._files import replace_file, replace_text

HERE = Path(__file__).resolve().parent
NAMES = {"fastbp": "fastbp", ENGINE: "fastbp engine", "sklearn": "scikit-learn",
         "torch": "PyTorch", "jax": "JAX"}  # fmt: skip
PEERS = [s for s in SYSTEMS if s != "fastbp"]
COLORS = {"fastbp": "#d62728", ENGINE: "#9467bd", "sklearn": "#1f77b4", "torch": "#ff7f0e",
          "jax": "#2ca02c"}  # fmt: skip
# The targets for fastbp's speed-up over scikit-learn (stated for float32).
SKLEARN_TARGETS = {"seed": 1000, "small": 30, "mid": 5, "large": 2}
NOISY_IQR = 0.2  # a benchmark whose IQR exceeds this fraction of its median is flagged


def load(name, where=HERE):
    path = Path(where) / name
    return json.loads(path.read_text()) if path.exists() else None


# ----------------------------------------------------------------------------- formatting


def fmt_time(s):
    if s is None or not math.isfinite(s):
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def fmt_ratio(r):
    if r is None:
        return "–"
    return f"{r:,.0f}×" if r >= 100 else f"{r:.3g}×"


def table(header, rows, align=None):
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the machine


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


# ----------------------------------------------------------------------------- the figures


def benchmarks(results, prefix):
    return [b for b in (results or {}).get("benchmarks", []) if b["name"].startswith(prefix)]


def epoch_times(results):
    """{(case, dtype): {system: seconds per epoch}} and the noisy benchmarks."""
    times, noisy = {}, []
    for b in benchmarks(results, "test_epoch["):
        info = b["extra_info"]
        times.setdefault((info["case"], info["dtype"]), {})[info["system"]] = info[
            "seconds_per_epoch"
        ]
        stats = b["stats"]
        if stats["iqr"] > NOISY_IQR * stats["median"]:
            noisy.append((b["name"], stats["iqr"] / stats["median"]))
    return times, noisy


def gemm_rates(results):
    """{(kind, dtype): GFLOP/s}, kind "square" or "epoch-<case>"."""
    return {
        (b["extra_info"]["kind"], b["extra_info"]["dtype"]): b["extra_info"]["gflops"]
        for b in benchmarks(results, "test_gemm_")
    }


def epoch_infos(results):
    """{(case, dtype, system): extra_info} of the epoch benchmarks."""
    return {
        (b["extra_info"]["case"], b["extra_info"]["dtype"], b["extra_info"]["system"]): b[
            "extra_info"
        ]
        for b in benchmarks(results, "test_epoch[")
    }


def best_peer(t):
    """(seconds, system) of the fastest peer in ``t`` ({system: seconds}), or None."""
    found = [(t[s], s) for s in PEERS if s in t]
    return min(found) if found else None


def epoch_section(times, noisy, infos):
    rows = []
    for case in CASES:
        for dtype in DTYPES:
            t = times.get((case, dtype), {})
            if not t:
                continue
            fast = t.get("fastbp")
            peer = best_peer(t)
            winner = min(t, key=t.get)
            cells = []
            for s in TIMED:
                cell = fmt_time(t.get(s))
                cells.append(f"**{cell}**" if s == winner else cell)
            vs_peer = "–"
            if fast and peer:
                ratio = peer[0] / fast
                vs_peer = f"{fmt_ratio(ratio)} ({NAMES[peer[1]]}){' ✓' if ratio > 1 else ' ✗'}"
            vs_sk = t["sklearn"] / fast if fast and "sklearn" in t else None
            target = SKLEARN_TARGETS[case]
            mark = "" if vs_sk is None else (" ✓" if vs_sk >= target else " ✗")
            rows.append(
                [f"{case} {CASES[case].label}", dtype, *cells, vs_peer, fmt_ratio(vs_sk) + mark]
            )
    header = [
        "case",
        "dtype",
        *[NAMES[s] for s in TIMED],
        "best peer ÷ fastbp",
        "sklearn ÷ fastbp",
    ]
    text = table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
    missing = [
        NAMES[s] + ("" if available(s) else " (not installed)")
        for s in TIMED
        if not any(s in t for t in times.values())
    ]
    notes = [
        "Median seconds per epoch in steady state (bold: the fastest). "
        "\"best peer ÷ fastbp\": the fastest other system's time over fastbp's; above 1× "
        '(✓) fastbp is faster. "sklearn ÷ fastbp": fastbp\'s speed-up over scikit-learn; '
        f"✓/✗ against the issue's target (seed {SKLEARN_TARGETS['seed']}×, small "
        f"{SKLEARN_TARGETS['small']}×, mid {SKLEARN_TARGETS['mid']}×, large "
        f"{SKLEARN_TARGETS['large']}×, stated for float32).",
    ]
    overhead = {
        s: [
            i["fit_overhead_s"]
            for (_, _, sy), i in infos.items()
            if sy == s and "fit_overhead_s" in i
        ]
        for s in ("fastbp", "sklearn")
    }
    if all(overhead.values()):
        notes.append(
            "fastbp and scikit-learn run through `MLPRegressor(warm_start=True)`, n epochs per "
            "`fit` call (n chosen so that a timed round lasts ~0.3 s); the fixed cost of a "
            "`fit` call (input validation, buffers), in every round once, is measured "
            "apart (one-epoch fits less an epoch; median over the cases): "
            + ", ".join(
                f"{NAMES[s]} {fmt_time(median(v))}"
                if median(v) > 0
                else f"{NAMES[s]} below the noise"
                for s, v in overhead.items()
            )
            + "."
        )
    engine = [(c, d) for (c, d), t in times.items() if {ENGINE, "fastbp"} <= set(t)]
    if engine:
        notes.append(
            "fastbp engine: the engine alone, `fastbp.Network.train_epoch(..., "
            "check_input=False)` (one compiled call per epoch) over a NumPy permutation, as "
            "the JAX peer gets. The estimator adds, per epoch, scikit-learn's RandomState "
            "shuffle, the loss curve and the stopping checks. Estimator ÷ engine: "
            + ", ".join(
                f"{c} {d} {fmt_ratio(times[(c, d)]['fastbp'] / times[(c, d)][ENGINE])}"
                for c, d in sorted(engine, key=lambda p: (list(CASES).index(p[0]), p[1]))
            )
            + "."
        )
    torch_threads = {i["threads"] for (_, _, s), i in infos.items() if s == "torch"}
    if torch_threads:
        notes.append(
            "PyTorch: `nn.Sequential`, `torch.optim.SGD`, a fresh `torch.randperm` per epoch and "
            "index slicing, no DataLoader; intra-op threads left at torch's default ("
            + ", ".join(map(str, sorted(torch_threads)))
            + "). The last minibatch of an epoch holds the remaining rows."
        )
    ragged = sorted(
        {c for (c, _, s), i in infos.items() if s == "jax" and i.get("ragged_batch")},
        key=list(CASES).index,
    )
    if any(s == "jax" for _, _, s in infos):
        rest = ", ".join(f"{c}: {CASES[c].n_samples % CASES[c].batch_size} rows" for c in ragged)
        notes.append(
            "JAX: `jax.jit` of a whole epoch, `jax.lax.scan` over the minibatches, float64 "
            "through `jax_enable_x64`, a NumPy permutation per epoch passed in and the rows "
            "gathered once inside the jitted function (drawing the permutation and gathering "
            "each minibatch inside was 5-6x slower on seed and small; see bench/peers.py), "
            "`block_until_ready` before the clock stops. scan needs equal batches: "
            "the ragged last one"
            + (f" ({rest})" if rest else "")
            + " is not dropped but trained by one more step after the scan, in the same "
            "jitted epoch, so every system does the same updates."
        )
    if missing:
        notes.append(f"No figures in this run: {', '.join(missing)}.")
    if noisy:
        worst = ", ".join(f"`{n}` ({r:.0%})" for n, r in sorted(noisy, key=lambda x: -x[1])[:8])
        notes.append(
            f"Noisy (IQR over {NOISY_IQR:.0%} of the median; the machine is shared): {worst}."
        )
    return text + "\n\n" + "\n".join(f"- {n}" for n in notes)


def gflops_section(times, rates):
    rows = []
    for case in ("mid", "large"):
        for dtype in DTYPES:
            fast = times.get((case, dtype), {}).get("fastbp")
            if fast is None:
                continue
            flops = epoch_flops(CASES[case])
            got = flops / fast / 1e9
            square = rates.get(("square", dtype))
            shapes = rates.get((f"epoch-{case}", dtype))
            peers = [
                f"{NAMES[s]} {flops / times[(case, dtype)][s] / 1e9:.1f}"
                for s in PEERS
                if s in times[(case, dtype)]
            ]
            rows.append(
                [
                    f"{case} {CASES[case].label}",
                    dtype,
                    f"{flops / 1e9:.2f}",
                    f"**{got:.1f}**",
                    f"{square:.1f}" if square else "–",
                    f"{got / square:.0%}" if square else "–",
                    f"{shapes:.1f}" if shapes else "–",
                    f"{got / shapes:.0%}" if shapes else "–",
                    ", ".join(peers),
                ]
            )
    if not rows:
        return None
    header = [
        "case",
        "dtype",
        "GFLOP per epoch",
        "fastbp GFLOP/s",
        "GEMM 2048² GFLOP/s",
        "fastbp % of it",
        "GEMM epoch shapes GFLOP/s",
        "fastbp % of it",
        "peers' GFLOP/s",
    ]
    return table(header, rows, ["l", "l"] + ["r"] * 6 + ["l"])


def startup_times(results):
    """{(process, fit): (median s, rounds, steps)}: process "python", "sklearn",
    "fastbp (warm cache)" or "fastbp (cold cache)"; fit "one epoch", "default" or None
    (python). Runs written before the default fit was timed count as "one epoch"."""
    found = {}
    for b in benchmarks(results, "test_startup"):
        info = b["extra_info"]
        key = info["system"] + (f" ({info['cache']} cache)" if info.get("cache") else "")
        fit = info.get("fit", "one epoch" if info["system"] != "python" else None)
        found[key, fit] = (b["stats"]["median"], b["stats"]["rounds"], info.get("steps", {}))
    return found


STARTUP_ORDER = ["python", "sklearn", "fastbp (warm cache)", "fastbp (cold cache)"]


def startup_section(results):
    found = startup_times(results)
    if not found:
        return None
    labels = {"python": "python + numpy + data, no library", "sklearn": "scikit-learn"}

    def order(key):
        process, fit = key
        rank = STARTUP_ORDER.index(process) if process in STARTUP_ORDER else 99
        return (fit == "default", rank)

    rows = []
    for key in sorted(found, key=order):
        wall, rounds, steps = found[key]
        rows.append(
            [
                labels.get(key[0], key[0]),
                key[1] or "–",
                steps.get("n_iter", "–"),
                f"**{fmt_time(wall)}**",
                rounds,
                *(fmt_time(steps.get(s)) for s in ("import", "fit", "predict")),
            ]
        )
    header = ["process", "fit", "epochs", "wall time (median)", "rounds", "import", "fit",
              "predict"]  # fmt: skip
    text = table(header, rows)
    for fit in ("default", "one epoch"):
        sk, warm = found.get(("sklearn", fit)), found.get(("fastbp (warm cache)", fit))
        if sk and warm:
            text += (
                f"\n\nFit {fit!r}: fastbp with a warm cache takes {warm[0] / sk[0]:.2f}× "
                "scikit-learn's time to a first result"
            )
            cold = found.get(("fastbp (cold cache)", fit))
            if cold:
                text += f"; a cold cache costs {cold[0] - warm[0]:.1f} s more, once"
            text += "."
    text += (
        "\n\nEach row is one fresh `python -c` process: import, a fit of the seed case, a "
        "prediction. Fit 'one epoch' is max_iter=1, the fixed cost alone; 'default' is the "
        "fit `fit` runs by default, to scikit-learn's stopping rule (max_iter=200, tol=1e-4, "
        "n_iter_no_change=10), the same epochs in both libraries. Both libraries' modules are "
        "byte-compiled, as pip installs them (bench/test_bench_startup.py)."
    )
    return text


COLD_EXTRA_S = 5  # "a cold cache costs no more than a few seconds, once"
GEMM_TARGET = 0.8  # mid and large reach 80 % of the machine's GEMM rate
EPOCH_ALLOC_MIB = 8  # what fastbp's later epochs may add to their peak (bench/test_bench_memory.py)


def mark(ok):
    return "–" if ok is None else ("✓" if ok else "✗")


def interleaved_lost(inter):
    """(groups compared, [(case, dtype, system, ratio)] where a peer beat fastbp) in
    bench/interleaved.py's figures."""
    compared, lost = 0, []
    for c in CASES:
        for d in DTYPES:
            ratios = (inter or {}).get(f"{c}-{d}", {}).get("vs_fastbp", {})
            peers = [(r, s) for s, r in ratios.items() if s in PEERS]
            if peers:
                compared += 1
                r, s = min(peers)
                if r <= 1:
                    lost.append((c, d, s, r))
    return compared, lost


def targets_section(times, rates, results, memory, inter=None):
    """The issue's targets, each with what this run measured and ✓/✗."""
    rows = []
    pairs = [
        (c, d)
        for c in CASES
        for d in DTYPES
        if "fastbp" in times.get((c, d), {}) and best_peer(times[(c, d)])
    ]
    if pairs:
        ratios = {p: best_peer(times[p])[0] / times[p]["fastbp"] for p in pairs}
        lost = [p for p in pairs if ratios[p] <= 1]
        measured = f"faster on {len(pairs) - len(lost)} of {len(pairs)}"
        if lost:
            measured += "; slower on " + ", ".join(
                f"{c} {d} ({NAMES[best_peer(times[(c, d)])[1]]} {fmt_ratio(ratios[(c, d)])})"
                for c, d in lost
            )
        engine = [p for p in pairs if ENGINE in times[p]]
        if engine:
            wins = sum(best_peer(times[p])[0] > times[p][ENGINE] for p in engine)
            measured += f" (the engine alone, Network.train_epoch: {wins} of {len(engine)})"
        compared, inter_lost = interleaved_lost(inter)
        if compared:
            measured += (
                f". Interleaved rounds: faster on {compared - len(inter_lost)} of {compared}"
            )
            if inter_lost:
                measured += "; slower on " + ", ".join(
                    f"{c} {d} ({NAMES[s]} {fmt_ratio(r)})" for c, d, s, r in inter_lost
                )
        # met only if both passes say so: the interleaved one is the closer side by side
        rows.append(["fastbp faster than every peer, every case, both dtypes", measured,
                     mark(not lost and not inter_lost)])  # fmt: skip
    jax = [
        (c, d, times[(c, d)]["jax"] / times[(c, d)]["fastbp"])
        for c in ("mid", "large")
        for d in DTYPES
        if {"jax", "fastbp"} <= set(times.get((c, d), {}))
    ]
    if jax:
        rows.append(
            [
                "beat JAX on the larger cases (JAX ÷ fastbp > 1)",
                ", ".join(f"{c} {d} {fmt_ratio(r)}" for c, d, r in jax),
                mark(all(r > 1 for *_, r in jax)),
            ]
        )
    for case, target in SKLEARN_TARGETS.items():
        t = {d: times.get((case, d), {}) for d in DTYPES}
        got = {
            d: t[d]["sklearn"] / t[d]["fastbp"]
            for d in DTYPES
            if {"sklearn", "fastbp"} <= set(t[d])
        }
        if got:
            rows.append(
                [
                    f"≥ {target:,}× scikit-learn on {case} (float32)",
                    ", ".join(f"{d} {fmt_ratio(r)}" for d, r in got.items()),
                    mark(got["float32"] >= target if "float32" in got else None),
                ]
            )
    gemm = []
    for case in ("mid", "large"):
        for dtype in DTYPES:
            fast, square = times.get((case, dtype), {}).get("fastbp"), rates.get(("square", dtype))
            if fast and square:
                gemm.append((case, dtype, epoch_flops(CASES[case]) / fast / 1e9 / square))
    if gemm:
        rows.append(
            [
                f"mid and large at ≥ {GEMM_TARGET:.0%} of the GEMM rate (2048², same dtype)",
                ", ".join(f"{c} {d} {f:.0%}" for c, d, f in gemm),
                mark(all(f >= GEMM_TARGET for *_, f in gemm)),
            ]
        )
    later = [
        m["later_peak_mib"] - m["before_later_mib"]
        for m in memory or []
        if m["system"] == "fastbp" and "later_peak_mib" in m
    ]
    rows.append(
        [
            "no allocation inside the epoch loop",
            "asserted by tests/test_engine.py (Numba's allocation counts, `make test`)"
            + (f"; later epochs here raise the peak by ≤ {max(later):.1f} MiB" if later else ""),
            mark(max(later) < EPOCH_ALLOC_MIB if later else None),
        ]
    )
    start = startup_times(results)
    sk, warm = start.get(("sklearn", "default")), start.get(("fastbp (warm cache)", "default"))
    sk1, warm1 = (start.get((k, "one epoch")) for k in ("sklearn", "fastbp (warm cache)"))
    cold = start.get(("fastbp (cold cache)", "one epoch"))
    if (sk and warm) or (sk1 and warm1):
        measured = []
        if sk and warm:
            measured.append(
                f"the seed fit as `fit` runs it ({warm[2].get('n_iter', '?')} epochs): fastbp "
                f"{fmt_time(warm[0])}, scikit-learn {fmt_time(sk[0])}"
            )
        if sk1 and warm1:
            measured.append(
                f"a one-epoch fit (the fixed cost alone): fastbp {fmt_time(warm1[0])}, "
                f"scikit-learn {fmt_time(sk1[0])}" + (" (not met)" if warm1[0] >= sk1[0] else "")
            )
        met = warm[0] < sk[0] if sk and warm else warm1[0] < sk1[0]
        rows.append(
            [
                "warm cache: import + seed fit faster than scikit-learn's",
                "; ".join(measured),
                mark(met),
            ]
        )
    if warm1 and cold:
        rows.append(
            [
                f"cold cache: ≤ a few seconds more, once (taken as {COLD_EXTRA_S} s)",
                f"+{cold[0] - warm1[0]:.1f} s (one-epoch fits)",
                mark(cold[0] - warm1[0] <= COLD_EXTRA_S),
            ]
        )
    rows.append(["use both cores where that pays", "see [Both cores](#both-cores)", "–"])
    return table(["target (issue 4)", "measured in this run", "met"], rows, ["l", "l", "l"])


def memory_section(memory):
    if not memory:
        return None

    def mib(x):
        return "–" if x is None else f"{x:.1f}" if abs(x) < 10 else f"{x:.0f}"

    rows = []
    for m in sorted(memory, key=lambda m: (SYSTEMS.index(m["system"]), m["warm"], m["dtype"])):
        base = m["setup_mib"]
        later = m.get("later_peak_mib")
        rows.append(
            [
                NAMES[m["system"]] + (", kernels loaded first" if m["warm"] else ""),
                m["dtype"],
                mib(base),
                f"**{mib(m['first_peak_mib'] - base)}**" if m["reset_peak"] else "–",
                mib(m["after_first_mib"] - base),
                "–" if later is None else mib(later - base),
                "–" if later is None else mib(max(0.0, later - m["before_later_mib"])),
            ]
        )
    header = [
        "system",
        "dtype",
        "baseline: imports + data (MiB)",
        "set-up + first epoch: peak above baseline",
        "held after it",
        "later epochs: peak above baseline",
        "later epochs: peak above their start",
    ]
    data = {m["dtype"]: m["data_mib"] for m in memory}
    notes = [
        "Each row is a fresh process (`python -m bench.memory SYSTEM DTYPE`): import the "
        "library, make the data (X and y: "
        + ", ".join(f"{data[d]:.0f} MiB in {d}" for d in DTYPES if d in data)
        + "), read the resident memory (the baseline), then build the model and train one "
        "epoch (compilation included: Numba loading its cache, XLA compiling; JAX also "
        "copies the data to its device), then two more epochs. Peaks are the process's own "
        "high-water mark (VmHWM in /proc/self/status), reset through /proc/self/clear_refs "
        "before each measured stretch; not ru_maxrss, which Linux carries over from the "
        "parent process.",
        '"kernels loaded first": a fit on three minibatches before the baseline, so that '
        "Numba's compiled code is in the baseline and the row shows what training itself "
        "holds: the model, its buffers and a fit's index arrays.",
        "The last column is what an epoch allocates and frees: fastbp's epochs allocate "
        "nothing (tests/test_engine.py::test_no_allocation_inside_the_epoch_loop counts "
        "Numba's allocations), so theirs stays near 0.",
    ]
    if not all(m["reset_peak"] for m in memory):
        notes.append("Linux refused to reset the high-water mark here: '–' marks the gaps.")
    return table(header, rows, ["l", "l"] + ["r"] * 5) + "\n\n" + "\n".join(f"- {n}" for n in notes)


def scaling_section(scaling):
    if not scaling:
        return None
    import numpy as np

    lines = []
    for axis, label in (("samples", "samples"), ("width", "hidden width W")):
        rows = []
        xs = sorted({p["x"] for p in scaling["points"] if p["axis"] == axis})
        exps = []
        for dtype in DTYPES:
            pts = {
                p["x"]: p["seconds"]
                for p in scaling["points"]
                if p["axis"] == axis and p["dtype"] == dtype
            }
            if not pts:
                continue
            rows.append([dtype, *(fmt_time(pts.get(x)) for x in xs)])
            k = sorted(pts)
            slope = np.polyfit(np.log(k), np.log([pts[x] for x in k]), 1)[0]
            exps.append(f"{dtype} {slope:.2f}")
        lines.append(table([f"{label} →", *map(str, xs)], rows))
        lines.append(
            f"\nFitted exponent (time ∝ {label.split()[-1]}^e, least squares in log-log): "
            + ", ".join(exps)
            + ".\n"
        )
    head = (
        f"fastbp's seconds per epoch: against samples on the small case "
        f"({scaling['samples_case']['layers']}, batch {scaling['samples_case']['batch']}), "
        f"and against hidden width on {scaling['width_case']['layers']} "
        f"({scaling['width_case']['n']:,} samples). Chart: `scaling.png`."
    )
    return head + "\n\n" + "\n".join(lines) + "\n![fastbp scaling](scaling.png)"


# Figures committed with bench/split_batch.py (commit 74ddb77), quoted when this run has none.
SPLIT_BATCH_COMMITTED = (
    "small 0.65×, mid 1.05×, large 0.17× (with OpenBLAS's two threads; 1.44× against "
    "one-thread BLAS, still slower than one thread with two-thread BLAS), float64"
)


def blas_threads_table(results):
    found = {}
    for b in benchmarks(results, "test_blas_threads["):
        i = b["extra_info"]
        if "seconds_per_epoch" in i:
            found.setdefault((i["case"], i["dtype"]), {})[i["blas_limit"]] = (
                i["seconds_per_epoch"],
                i["blas_threads"],
            )
    rows = []
    for (case, dtype), r in found.items():
        if 1 in r and None in r:
            one, default = r[1][0], r[None][0]
            rows.append(
                [
                    f"{case} {CASES[case].label}",
                    dtype,
                    fmt_time(one),
                    f"{fmt_time(default)} ({r[None][1]} threads)",
                    f"{one / default:.2f}×",
                ]
            )
    if not rows:
        return None
    header = ["case", "dtype", "1 BLAS thread", "BLAS default", "default's speed-up"]
    return table(header, rows, ["l", "l", "r", "r", "r"])


def split_batch_table(split):
    rows = []
    for name, r in split.items():
        for blas, label in (("blas_default", "default"), ("blas_1", "1")):
            if blas in r:
                f = r[blas]
                rows.append(
                    [
                        name,
                        label,
                        fmt_time(f["one_thread_s"]),
                        fmt_time(f["split_s"]),
                        f"{f['speedup']:.2f}×",
                    ]
                )
    header = ["network", "BLAS threads", "whole batch, 1 thread", "split in 2 threads", "gain"]
    return table(header, rows, ["l", "l", "r", "r", "r"])


def blas_min_flops():
    try:
        from fastbp._config import BLAS_MIN_FLOPS

        return BLAS_MIN_FLOPS
    except Exception:  # noqa: BLE001 - a report must still be written
        return None


def both_cores_section(results, threads, split):
    parts = [
        "fastbp trains each minibatch on one thread of its own; the two cores come in "
        "through BLAS's threads on large layer products, and through fits running in "
        "parallel threads (the kernels release the GIL). What was measured:"
    ]
    blas = blas_threads_table(results)
    if blas:
        parts.append(
            "**BLAS threads on large layers** (bench/test_bench_blas_threads.py): fastbp's "
            "seconds per epoch with OpenBLAS limited to one thread (threadpoolctl) against "
            "its default, one thread per core. This measurement sets fastbp's own rule "
            "(switched off while it runs): minibatch fits use one BLAS thread unless some "
            "layer's product for a batch reaches `BLAS_THREADS_MIN_FLOPS` = 2^22 "
            "multiply-adds (fastbp/_config.py), so mid trains on one thread and large on "
            "all.\n\n" + blas
        )
    if threads:
        rows = [
            [
                name,
                f"{r['one_thread_s']:.2f} s",
                f"{r['two_threads_s']:.2f} s",
                f"{r['speedup']:.2f}×",
                "yes" if r["identical"] else "**no**",
            ]
            for name, r in threads.items()
            if isinstance(r, dict)
        ]
        parts.append(
            "**Thread-parallel fits** (bench/threads.py): 8 `MLPRegressor` fits (10 epochs "
            "each) one after the other, then in 2 threads (joblib's threading backend; a fit "
            "off the main thread uses one BLAS thread).\n\n"
            + table(["network", "one at a time", "2 threads", "speed-up", "same models"], rows)
        )
    if split:
        parts.append(
            "**Splitting a minibatch across the two cores** (bench/split_batch.py): the two "
            "halves of every minibatch run their forward and backward passes in a Numba "
            "`prange`, the gradients are summed, one SGD step follows; against fastbp's "
            "one-thread epoch, float64. Above 1× the split pays.\n\n" + split_batch_table(split)
        )
    else:
        parts.append(
            "**Splitting a minibatch across the two cores** (bench/split_batch.py, not run "
            "in this run or it failed): its figures as committed with it: "
            f"{SPLIT_BATCH_COMMITTED}. Waking a thread team for every minibatch costs "
            "about what the half saves. Reproduce: `python -m bench.split_batch`."
        )
    threshold = blas_min_flops()
    parts.append(
        "**Where BLAS takes over from loops** (bench/crossover.py, bench/CROSSOVER.md): "
        "a layer product goes to BLAS when rows × fan-in × fan-out reaches "
        f"`BLAS_MIN_FLOPS`{f' = {threshold}' if threshold else ''} (fastbp/_config.py), "
        "below it to Numba loops. The value comes from timing both paths on 2,916 shapes "
        "per path (batch 1-256, widths 1-784, both dtypes, each of the three products): "
        "while the kernels called `np.dot` on array views, 256 was the best single threshold "
        "in every run (idle, one BLAS thread, half zeros, busy). Since they call BLAS "
        "directly (fastbp/_blas.py), its fixed cost per call fell from ~210 to ~55 ns and "
        "the best threshold to 32; networks whose every product is below "
        "`ROW_BY_ROW_MAX_FLOPS` = 48 train row by row (CROSSOVER.md, last section). "
        "Reproduce: `python bench/crossover.py` (~1 minute)."
    )
    return "\n\n".join(parts)


# ----------------------------------------------------------------------------- the charts


def interleaved_section(inter):
    """bench/interleaved.py's figures: every system timed in turn within each round."""
    if not inter:
        return None
    groups = [(c, d) for c in CASES for d in DTYPES if f"{c}-{d}" in inter]
    systems = [s for s in TIMED if any(s in inter[f"{c}-{d}"]["seconds"] for c, d in groups)]
    rows = []
    for c, d in groups:
        g = inter[f"{c}-{d}"]
        cells = [fmt_time(g["seconds"].get(s)) for s in systems]
        peers = [(r, s) for s, r in g["vs_fastbp"].items() if s in PEERS]
        best = min(peers) if peers else None
        vs = (
            f"{fmt_ratio(best[0])} ({NAMES[best[1]]}){' ✓' if best[0] > 1 else ' ✗'}"
            if best
            else "–"
        )
        engine = g["vs_fastbp"].get(ENGINE)
        sk = g["vs_fastbp"].get("sklearn")
        rows.append([f"{c} {CASES[c].label}", d, *cells, vs, fmt_ratio(sk),
                     fmt_ratio(1 / engine) if engine else "–"])  # fmt: skip
    header = ["case", "dtype", *[NAMES[s] for s in systems], "best peer ÷ fastbp",
              "sklearn ÷ fastbp", "fastbp ÷ engine"]  # fmt: skip
    rounds = sorted({inter[f"{c}-{d}"]["rounds"] for c, d in groups})
    share = median(inter[f"{c}-{d}"]["round_s"] for c, d in groups)
    compared, lost = interleaved_lost(inter)
    text = table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
    return (
        "The epoch benchmarks above time one system's rounds one after the other; on this "
        "shared machine the speed of the same code drifts by up to 2× over minutes. Here "
        "(bench/interleaved.py) each round times every system in turn, ~"
        f"{fmt_time(share)} each, the order rotating, over {'/'.join(map(str, rounds))} rounds. "
        "Times: medians over rounds; ratios: medians over rounds of the ratio within a round "
        f"(above 1×, fastbp is faster). fastbp is faster than every peer on "
        f"{compared - len(lost)} of {compared}.\n\n" + text
    )


def plot_results(times, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(c, d) for c in CASES for d in DTYPES if (c, d) in times]
    systems = [s for s in TIMED if any(s in times[g] for g in groups)]
    width = 0.8 / max(1, len(systems))
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    for i, s in enumerate(systems):
        xs = [
            j + (i - (len(systems) - 1) / 2) * width for j, g in enumerate(groups) if s in times[g]
        ]
        ys = [times[g][s] for g in groups if s in times[g]]
        bars = ax.bar(xs, ys, width, label=NAMES[s], color=COLORS[s])
        for bar, y in zip(bars, ys):
            ax.annotate(
                fmt_time(y),
                (bar.get_x() + bar.get_width() / 2, y),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=6.5,
                rotation=90,
            )
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    labels = []
    for c, d in groups:
        label = f"{c} {CASES[c].label}\n{d}"
        peer, fast = best_peer(times[(c, d)]), times[(c, d)].get("fastbp")
        if peer and fast:
            label += f"\nbest peer ÷ fastbp: {fmt_ratio(peer[0] / fast)}"
        labels.append(label)
    ax.set_xticklabels(labels, fontsize=8.5)
    ax.set_ylabel("seconds per epoch (log scale, lower is better)")
    ax.set_title("Steady-state seconds per epoch, plain minibatch SGD (median)")
    ax.grid(axis="y", which="both", alpha=0.3)
    lo = min(min(t.values()) for t in times.values())
    hi = max(max(t.values()) for t in times.values())
    ax.set_ylim(lo / 2, hi * 12)  # room for the value labels
    ax.legend(ncols=len(systems), loc="upper left")
    fig.tight_layout()
    replace_file(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


def plot_scaling(scaling, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), dpi=110)
    titles = {
        "samples": f"vs samples ({scaling['samples_case']['layers']}, "
        f"batch {scaling['samples_case']['batch']})",
        "width": f"vs hidden width ({scaling['width_case']['layers']}, "
        f"{scaling['width_case']['n']:,} samples)",
    }
    for ax, axis in zip(axes, ("samples", "width")):
        for dtype, style in zip(DTYPES, ("o-", "s-")):
            pts = sorted(
                (p["x"], p["seconds"])
                for p in scaling["points"]
                if p["axis"] == axis and p["dtype"] == dtype
            )
            if not pts:
                continue
            xs, ys = zip(*pts)
            ax.plot(xs, [y * 1e3 for y in ys], style, label=f"fastbp {dtype}")
            if dtype == DTYPES[0]:
                ax.plot(
                    xs,
                    [ys[0] * 1e3 * x / xs[0] for x in xs],
                    "--",
                    color="grey",
                    label="linear from the first point",
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sorted({p["x"] for p in scaling["points"] if p["axis"] == axis}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_xlabel("samples" if axis == "samples" else "hidden width W")
        ax.set_ylabel("ms per epoch (log scale)")
        ax.set_title(titles[axis])
        ax.grid(which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("fastbp: steady-state epoch time")
    fig.tight_layout()
    replace_file(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


# ----------------------------------------------------------------------------- the report


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dir", default=HERE, type=Path, help="read the figures and write the report here"
    )
    where = parser.parse_args(argv).dir
    results = load("results.json", where)
    memory = load(".memory.json", where)
    scaling = load("scaling.json", where)
    threads = load("threads.json", where)
    split = load("split_batch.json", where)
    inter = load("interleaved.json", where)
    if results is None:
        sys.exit(f"{where / 'results.json'} not found: run `make bench` first")
    times, noisy = epoch_times(results)
    rates = gemm_rates(results)
    infos = epoch_infos(results)

    parts = [
        "# Benchmark results\n",
        "Written by `make bench` (bench/report.py); do not edit by hand. fastbp against "
        "scikit-learn, PyTorch (CPU) and JAX on the four reference cases of issue 4: regression "
        "on y = tanh(X·W), X ~ N(0, 1), plain minibatch SGD (learning rate 0.01, no momentum, "
        "no L2 penalty, shuffled every epoch). Every figure is a median over rounds measured "
        "in one run on one machine; on a shared machine compare the ratios, not the absolute "
        "times. How each system is driven: bench/peers.py; how it is timed: "
        "bench/timing.py. Reproduce: `make bench` (or `fastbp bench` in a checkout).\n",
        "## Targets\n",
        targets_section(times, rates, results, memory, inter) + "\n",
        "## Machine\n",
        machine(results) + "\n",
        "## Seconds per epoch\n",
        epoch_section(times, noisy, infos) + "\n",
        "![seconds per epoch](results.png)\n",
    ]
    gflops = gflops_section(times, rates)
    if gflops:
        parts += [
            "## GFLOP/s against the machine's GEMM rate\n",
            "Flops per epoch count 2·m·n·k for every matrix product the epoch does: per layer the "
            "forward product and the weight gradient, and the backward message for every layer "
            "but the first (bench/cases.py). Two references, both numpy's `np.dot` into a "
            "preallocated output in the same dtype (bench/test_bench_gemm.py): one 2048×2048 "
            "product, and the exact products of one epoch (same shapes and transposes, one after "
            "the other, per-call overhead included). fastbp's own products call SciPy's OpenBLAS "
            "(the BLAS Numba's `np.dot` calls) directly on offsets into its flat buffers "
            "(fastbp/_blas.py), without the per-call overhead of `np.dot` that the epoch shapes' "
            "reference includes.\n",
            gflops + "\n",
        ]
    for title, section in (
        ("Time to first result in a fresh process", startup_section(results)),
        ("Peak memory, large case (784-256-128-10, 10,000 samples)", memory_section(memory)),
        ("Side by side, interleaved", interleaved_section(inter)),
        ("Scaling", scaling_section(scaling)),
        ("Both cores", both_cores_section(results, threads, split)),
    ):
        if section:
            parts += [f"## {title}\n", section + "\n"]

    if times:
        plot_results(times, where / "results.png")
    if scaling:
        plot_scaling(scaling, where / "scaling.png")
    replace_text(where / "RESULTS.md", "\n".join(parts))
    print(f"wrote {where / 'RESULTS.md'}" + (" and the charts" if times else ""))


if __name__ == "__main__":
    main()
