"""The whole-fits section of RESULTS.md (bench/whole_fits.py's figures) and issue 18's
targets for them."""

from bench.report_format import fmt_ratio, fmt_time, table, with_notes

# issue 18: ratios to scikit-learn (one thread and its default threads, both)
IRIS_SPEEDUP = 15  # iris-sized sgd and adam fits
MOONS_LBFGS_SPEEDUP = 5  # moons-sized lbfgs fits
OVERHEAD_S = 3e-6  # fastbp's per-epoch time beyond the epoch's arithmetic
FIXED_S = 0.3e-3  # fastbp's fixed cost of a 150-row fit

SKLEARN = ("scikit-learn (1 thread)", "scikit-learn")
JAX = "JAX (whole fit jitted)"

INTRO = (
    "Each system fits the classifier of scikit-learn's defaults (ReLU, batches of 200,"
    " tol 1e-4 over 10 epochs, at most 200 epochs or iterations) on a standardised set"
    " from `sklearn.datasets`, the whole fit timed as a user calls it (bench/whole_fits.py:"
    " rounds interleaved, medians). The ratios are each system's time over fastbp's in"
    " the same round (> 1: fastbp is faster). JAX jits the whole fit, epochs in"
    " `lax.while_loop` with the same stopping rule: the anchor for no per-epoch overhead."
    " fastbp's time is then split: its fixed cost per fit, its time per epoch (lbfgs: per"
    " iteration) and of that the arithmetic: the epoch kernel and the draws of its row"
    " order (scikit-learn's shuffle, in compiled code: shown apart), each epoch on a new"
    " order, in a compiled loop; for lbfgs, the evaluations of the loss and gradient an"
    " iteration makes (one, and more where a line search takes more steps: their mean"
    " number in brackets). The rest is overhead (bench/whole_fits.py's `split`): for"
    " lbfgs, L-BFGS's own vector work and the Python around its calls.\n"
)


def whole_fits_section(data):
    if not data:
        return None
    rows = []
    for name, r in data.items():
        set_name, solver = name.rsplit("-", 1)
        layers = "-".join(str(u) for u in r["layers"])
        s, split = r["seconds"], r["split"]
        per_epoch = split["per_epoch_s"]
        overhead = None if per_epoch is None else per_epoch - split["arithmetic_s"]
        arithmetic = fmt_time(split["arithmetic_s"])
        if split.get("evaluations_per_iteration"):
            arithmetic += f" ({split['evaluations_per_iteration']:.2f})"
        draws = split.get("draws_s")
        rows.append(
            [
                f"{set_name} ({r['rows']} rows, {layers})",
                solver,
                r["epochs"]["fastbp"],
                fmt_time(s["fastbp"]),
                *(fmt_ratio(r["vs_fastbp"].get(k)) for k in (*SKLEARN, JAX)),
                fmt_time(split["fixed_s"]),
                fmt_time(split["per_epoch_s"]),
                arithmetic,
                fmt_time(draws) if draws else "–",
                fmt_time(overhead),
            ]
        )
    header = ["set", "solver", "epochs", "fastbp / fit", "scikit-learn, 1 thread",
              "scikit-learn", "JAX", "fixed", "per epoch", "arithmetic", "of it, draws",
              "overhead"]  # fmt: skip
    return INTRO + "\n" + with_notes(table(header, rows), targets(data))


def targets(data):
    """Issue 18's targets, judged on these figures."""
    notes = []

    def worst(names, systems):
        found = [data[n]["vs_fastbp"][s] for n in names if n in data for s in systems]
        return min(found) if found else None

    for label, names, goal in (
        ("iris sgd and adam fits", ["iris-sgd", "iris-adam"], IRIS_SPEEDUP),
        ("moons lbfgs fits", ["moons-lbfgs"], MOONS_LBFGS_SPEEDUP),
    ):
        w = worst(names, SKLEARN)
        if w is not None:
            verdict = "met" if w >= goal else "not met"
            notes.append(f"{label}: at least {fmt_ratio(w)} scikit-learn's speed on either"
                         f" thread setting (target {goal}×: {verdict})")  # fmt: skip
    epochs = [
        r["split"]
        for r in data.values()
        if r["split"]["unit"] == "epoch" and r["split"]["per_epoch_s"] is not None
    ]
    if epochs:
        o = max(s["per_epoch_s"] - s["arithmetic_s"] for s in epochs)
        verdict = "met" if o <= OVERHEAD_S else "not met"
        notes.append(f"per-epoch overhead beyond the arithmetic: at most {fmt_time(o)}"
                     f" (target {fmt_time(OVERHEAD_S)}: {verdict})")  # fmt: skip
        if all(s.get("draws_s") is not None for s in epochs):
            d = max(s["per_epoch_s"] - s["arithmetic_s"] + s["draws_s"] for s in epochs)
            notes.append(f"the same, the order's draws counted as overhead: at most {fmt_time(d)}")
    fixed = [
        r["split"]["fixed_s"]
        for n, r in data.items()
        if r["rows"] == 150 and r["split"]["fixed_s"] is not None
    ]
    if fixed:
        f = max(fixed)
        verdict = "met" if f <= FIXED_S else "not met"
        notes.append(f"fixed cost of a 150-row fit: {fmt_time(f)}"
                     f" (target {fmt_time(FIXED_S)}: {verdict})")  # fmt: skip
    return notes
