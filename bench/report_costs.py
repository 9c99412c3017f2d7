"""bench/report.py's sections on fixed costs: the time to a first result in a fresh
process (start-up) and peak memory."""

from bench.cases import DTYPES
from bench.peers import SYSTEMS
from bench.report_format import NAMES, fmt_time, table, with_notes
from bench.report_parse import startup_times

STARTUP_ORDER = ["python", "sklearn", "fastbp (warm cache)", "fastbp (cold cache)"]
FIT_ORDER = [None, "one epoch", "default", "digits"]
STARTUP_LABELS = {
    "python": "python + numpy + data, no library",
    "sklearn": "scikit-learn",
    "fastbp (warm cache)": "fastbp, after set-up",
}


def startup_section(results):
    found = startup_times(results)
    setup = found.pop(("fastbp compile (empty cache)", None), None)
    if not found:
        return None

    def order(key):
        process, fit = key
        rank = STARTUP_ORDER.index(process) if process in STARTUP_ORDER else 99
        return (FIT_ORDER.index(fit) if fit in FIT_ORDER else 99, rank)

    rows = []
    for key in sorted(found, key=order):
        wall, rounds, steps = found[key]
        rows.append(
            [
                STARTUP_LABELS.get(key[0], key[0]),
                key[1] or "–",
                steps.get("n_iter", "–"),
                f"**{fmt_time(wall)}**",
                rounds,
                *(fmt_time(steps.get(s)) for s in ("import", "fit", "predict")),
                fmt_time(after_data(steps)),
            ]
        )
    header = ["process", "fit", "epochs", "wall time (median)", "rounds", "import", "fit",
              "predict", "import + fit + predict"]  # fmt: skip
    text = table(header, rows)
    for fit in FIT_ORDER[1:]:
        sk, warm = found.get(("sklearn", fit)), found.get(("fastbp (warm cache)", fit))
        if sk and warm:
            text += (
                f"\n\nFit {fit!r}: after set-up, fastbp's process takes {warm[0] / sk[0]:.2f}× "
                f"scikit-learn's ({warm[0] - sk[0]:+.2f} s); import + fit + predict "
                f"{after_data(warm[2]) - after_data(sk[2]):+.2f} s"
            )
            cold = found.get(("fastbp (cold cache)", fit))
            if cold:
                extra = cold[0] - warm[0]
                text += f"; compiling in front of the user (cold cache) cost {extra:.1f} s more"
            text += "."
    if setup:
        text += (
            f"\n\nThe set-up, `fastbp compile` on an empty cache (every kernel, both dtypes, in "
            f"parallel on this machine's cores): **{fmt_time(setup[0])}** (median of "
            f"{setup[1]} fresh processes)."
        )
    text += (
        "\n\nEach row is one fresh `python -c` process: data, import, a fit, a prediction of "
        "5 rows. 'one epoch' is the seed case with max_iter=1, the fixed cost alone; "
        "'default' the seed case's fit as `fit` runs it by default, to scikit-learn's stopping "
        "rule, the same epochs in both libraries; 'digits' `fastbp demo`'s first fit. 'After "
        "set-up': the kernels `fastbp compile` compiled, loaded from Numba's cache, nothing "
        "compiled (the benchmark checks). Both libraries' modules are byte-compiled, as pip "
        "installs them (bench/test_bench_startup.py)."
    )
    return text


def after_data(steps):
    """What a fresh process spends on a library: import + fit + predict (seconds)."""
    parts = [steps.get(s) for s in ("import", "fit", "predict")]
    return None if None in parts else sum(parts)


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
    return with_notes(table(header, rows, ["l", "l"] + ["r"] * 5), notes)
