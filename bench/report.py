"""Write bench/RESULTS.md, bench/results.png and bench/scaling.png from the figures of
the last ``make bench``. Measures nothing itself; reads:

- bench/results.json: pytest-benchmark's JSON (``--benchmark-json``): seconds per
  epoch (test_bench_epochs.py), GEMM references (test_bench_gemm.py), start-up
  (test_bench_startup.py);
- bench/.memory.json: peak memory (test_bench_memory.py);
- bench/scaling.json: fastbp's epoch time against samples and width (scaling.py);
- bench/threads.json, if there: thread-parallel fits (threads.py).

It describes the machine it runs on, which is the one that ran the benchmarks
when run by ``make bench``.

    python bench/report.py        # or: python -m bench.report
"""

import importlib.metadata
import json
import math
import os
import platform
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cases import CASES, DTYPES
from bench.peers import SYSTEMS

HERE = Path(__file__).resolve().parent
NAMES = {"fastbp": "fastbp", "sklearn": "scikit-learn", "torch": "PyTorch", "jax": "JAX"}
PEERS = [s for s in SYSTEMS if s != "fastbp"]
COLORS = {"fastbp": "#d62728", "sklearn": "#1f77b4", "torch": "#ff7f0e", "jax": "#2ca02c"}
# The targets for fastbp's speed-up over scikit-learn (stated for float32).
SKLEARN_TARGETS = {"seed": 1000, "small": 30, "mid": 5, "large": 2}
NOISY_IQR = 0.2  # a benchmark whose IQR exceeds this fraction of its median is flagged


def load(name):
    path = HERE / name
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
    (numpy's, and SciPy's, which Numba's np.dot calls)."""
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


def epoch_section(times, noisy):
    rows = []
    for case in CASES:
        for dtype in DTYPES:
            t = times.get((case, dtype), {})
            if not t:
                continue
            fast = t.get("fastbp")
            best_peer = (
                min((t[s], s) for s in PEERS if s in t) if any(s in t for s in PEERS) else None
            )
            winner = min(t, key=t.get)
            cells = []
            for s in SYSTEMS:
                cell = fmt_time(t.get(s))
                cells.append(f"**{cell}**" if s == winner else cell)
            vs_peer = (
                f"{fmt_ratio(best_peer[0] / fast)} ({NAMES[best_peer[1]]})"
                if fast and best_peer
                else "–"
            )
            vs_sk = t["sklearn"] / fast if fast and "sklearn" in t else None
            target = SKLEARN_TARGETS[case]
            mark = "" if vs_sk is None else (" ✓" if vs_sk >= target else " ✗")
            rows.append(
                [f"{case} {CASES[case].label}", dtype, *cells, vs_peer, fmt_ratio(vs_sk) + mark]
            )
    header = [
        "case",
        "dtype",
        *[NAMES[s] for s in SYSTEMS],
        "best peer ÷ fastbp",
        "sklearn ÷ fastbp",
    ]
    text = table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
    missing = [NAMES[s] for s in SYSTEMS if not any(s in t for t in times.values())]
    notes = [
        "Median seconds per epoch in steady state (bold: the fastest). "
        "\"best peer ÷ fastbp\": the fastest other system's time over fastbp's (above 1×: "
        'fastbp is faster). "sklearn ÷ fastbp": fastbp\'s speed-up over scikit-learn; '
        f"✓/✗ against the issue's target (seed {SKLEARN_TARGETS['seed']}×, small "
        f"{SKLEARN_TARGETS['small']}×, mid {SKLEARN_TARGETS['mid']}×, large "
        f"{SKLEARN_TARGETS['large']}×).",
    ]
    if missing:
        notes.append(f"Not installed, so not measured: {', '.join(missing)}.")
    if noisy:
        worst = ", ".join(f"`{n}` ({r:.0%})" for n, r in sorted(noisy, key=lambda x: -x[1])[:8])
        notes.append(
            f"Noisy (IQR over {NOISY_IQR:.0%} of the median; the machine is shared): {worst}."
        )
    return text + "\n\n" + "\n".join(f"- {n}" for n in notes)


def gflops_section(times, rates):
    from bench.cases import epoch_flops

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


def startup_section(results):
    found = {}
    for b in benchmarks(results, "test_startup"):
        info = b["extra_info"]
        key = info["system"] + (f" ({info['cache']} cache)" if info.get("cache") else "")
        found[key] = (b["stats"]["median"], b["stats"]["rounds"], info.get("steps", {}))
    if not found:
        return None
    order = ["python", "sklearn", "fastbp (warm cache)", "fastbp (cold cache)"]
    labels = {"python": "python + numpy + data, no library", "sklearn": "scikit-learn"}
    rows = []
    for key in sorted(found, key=lambda k: order.index(k) if k in order else 99):
        median, rounds, steps = found[key]
        rows.append(
            [
                labels.get(key, key),
                f"**{fmt_time(median)}**",
                rounds,
                *(fmt_time(steps.get(s)) for s in ("import", "fit", "predict")),
            ]
        )
    text = table(["process", "wall time (median)", "rounds", "import", "fit", "predict"], rows)
    sk, warm = found.get("sklearn"), found.get("fastbp (warm cache)")
    if sk and warm:
        text += (
            f"\n\nfastbp with a warm cache takes {warm[0] / sk[0]:.2f}× scikit-learn's time to "
            "a first result"
        )
        cold = found.get("fastbp (cold cache)")
        if cold:
            text += f"; a cold cache costs {cold[0] - warm[0]:.1f} s more, once"
        text += "."
    return text


def memory_section(memory):
    if not memory:
        return None
    rows = []
    for m in memory:
        rows.append(
            [
                NAMES[m["system"]],
                m["dtype"],
                f"{m['rss_setup_mib']:.0f}",
                f"{m['peak_first_mib']:.0f}",
                f"**{m['first_above_setup_mib']:.0f}**",
                f"{max(0.0, m['steady_above_before_mib']):.1f}"
                if "steady_above_before_mib" in m
                else "–",
            ]
        )
    header = [
        "system",
        "dtype",
        "RSS after imports + data (MiB)",
        "peak, first epoch (MiB)",
        "peak above setup (MiB)",
        "later epoch: peak above its start (MiB)",
    ]
    data = memory[0]["data_mib"]
    return (
        table(header, rows, ["l", "l", "r", "r", "r", "r"])
        + f"\n\nThe large case's data is {data:.0f} MiB in float32, {2 * data:.0f} MiB in float64"
        " (X and y). The first epoch includes compilation (Numba loading its cache, XLA"
        " compiling) and each library's one-off allocations; the last column is one more"
        " epoch alone, measured after resetting the process's high-water mark."
    )


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


def threads_section(threads):
    if not threads:
        return None
    rows = []
    for name, r in threads.items():
        if isinstance(r, dict):
            rows.append(
                [name, *(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values())]
            )
    if not rows:
        return None
    first = next(v for v in threads.values() if isinstance(v, dict))
    return (
        "Thread-parallel fits (bench/threads.py): several models fitted at once in threads, "
        "against one after the other.\n\n" + table(["case", *first.keys()], rows)
    )


# ----------------------------------------------------------------------------- the charts


def plot_results(times, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(c, d) for c in CASES for d in DTYPES if (c, d) in times]
    systems = [s for s in SYSTEMS if any(s in times[g] for g in groups)]
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
    ax.set_xticklabels([f"{c}\n{CASES[c].label}\n{d}" for c, d in groups], fontsize=9)
    ax.set_ylabel("seconds per epoch (log scale, lower is better)")
    ax.set_title("Steady-state seconds per epoch, plain minibatch SGD (median)")
    ax.grid(axis="y", which="both", alpha=0.3)
    lo = min(min(t.values()) for t in times.values())
    hi = max(max(t.values()) for t in times.values())
    ax.set_ylim(lo / 2, hi * 12)  # room for the value labels
    ax.legend(ncols=len(systems), loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
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
        ax.set_xlabel("samples" if axis == "samples" else "hidden width W")
        ax.set_ylabel("ms per epoch (log scale)")
        ax.set_title(titles[axis])
        ax.grid(which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("fastbp: steady-state epoch time")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- the report


def main():
    results = load("results.json")
    memory = load(".memory.json")
    scaling = load("scaling.json")
    threads = load("threads.json")
    if results is None:
        sys.exit("bench/results.json not found: run `make bench` first")
    times, noisy = epoch_times(results)
    rates = gemm_rates(results)

    parts = [
        "# Benchmark results\n",
        "Written by `make bench` (bench/report.py); do not edit by hand. fastbp against "
        "scikit-learn, PyTorch (CPU) and JAX on the four reference cases of issue 4: regression "
        "on y = tanh(X·W), X ~ N(0, 1), plain minibatch SGD (learning rate 0.01, no momentum, "
        "no L2 penalty, shuffled every epoch). Every figure is a median over rounds measured "
        "in one run on one machine; on a shared machine compare the ratios, not the absolute "
        "times. How each system is driven: bench/peers.py; how it is timed: "
        "bench/test_bench_epochs.py.\n",
        "## Machine\n",
        machine(results) + "\n",
        "## Seconds per epoch\n",
        epoch_section(times, noisy) + "\n",
        "![seconds per epoch](results.png)\n",
        "## GFLOP/s against the machine's GEMM rate\n",
        "Flops per epoch count 2·m·n·k for every matrix product the epoch does: per layer the "
        "forward product and the weight gradient, and the backward message for every layer "
        "but the first (bench/cases.py). Two references, both numpy's `np.dot` into a "
        "preallocated output in the same dtype (bench/test_bench_gemm.py): one 2048×2048 "
        "product, and the exact products of one epoch (same shapes and transposes, one after "
        "the other, per-call overhead included). fastbp's own products go through Numba's "
        "`np.dot`, i.e. SciPy's OpenBLAS.\n",
        gflops_section(times, rates) + "\n",
    ]
    for title, section in (
        ("Time to first result in a fresh process", startup_section(results)),
        ("Peak memory, large case (784-256-128-10, 10,000 samples)", memory_section(memory)),
        ("Scaling", scaling_section(scaling)),
        ("Both cores", threads_section(threads)),
    ):
        if section:
            parts += [f"## {title}\n", section + "\n"]

    if times:
        plot_results(times, HERE / "results.png")
    if scaling:
        plot_scaling(scaling, HERE / "scaling.png")
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'}" + (" and the charts" if times else ""))


if __name__ == "__main__":
    main()
