"""The many-networks section of RESULTS.md (bench/many.py's figures) and issue 19's
targets for them."""

from bench.report_format import NAMES, fmt_ratio, fmt_time, table, with_notes
from bench.report_judge import faster, mark

# issue 19: fit_many against the same members fitted one after another by fastbp
ONE_BY_ONE_TARGETS = {"seed": 8, "small": 3, "mid": 1.5}
SEARCH_SPEEDUP = 3  # fastbp.GridSearchCV against scikit-learn's, in the same process

ONE_BY_ONE = "fastbp one by one"
N_JOBS_2 = "sklearn n_jobs=2"
PEERS = ("jax", "torch")

INTRO = (
    "{k} networks of a case trained on the same data (bench/many.py): `fastbp.fit_many`"
    " against the same {k} MLPRegressors fitted one after another by fastbp and by"
    " scikit-learn, and against JAX (`jax.vmap` of the jitted epoch over {k} parameter"
    " sets and {k} permutations) and PyTorch (`torch.func.grad` of a `functional_call`"
    " loss under `torch.vmap` over {k} stacked parameter sets); all train the same SGD"
    " (learning rate 0.01, no momentum, no L2 penalty, each member its own shuffle every"
    " epoch), for a fixed number of epochs. Times are seconds per epoch of all {k}"
    " members, medians over rounds interleaved; ratios are each system's time over"
    " fit_many's in the same round, medians (> 1: fit_many is faster). fastbp and"
    " scikit-learn are timed over whole fits (fresh clones each call), JAX and PyTorch"
    ' over their epochs only. "members equal": members fitted by fit_many equal to the'
    " same member fitted alone (`np.array_equal` of every `coefs_` and `intercepts_`).\n"
)
SEARCH_INTRO = (
    "A {candidates}-candidate search ({grid}, {folds} folds, refit) on the {case} case"
    " ({layers}, {rows:,} rows, {dtype}, {epochs} epochs per fit), timed whole as users"
    " call it: `fastbp.GridSearchCV` against scikit-learn's `GridSearchCV` over the same"
    " fastbp estimator, in this process and with `n_jobs=2` (its worker processes"
    ' started afresh for every search: each starts Python and loads fastbp). "same'
    " scores\": `mean_test_score` equal to fastbp.GridSearchCV's.\n"
)


def many_section(data):
    if not data or not data.get("cases"):
        return None
    k = data["members"]
    rows = []
    for r in data["cases"].values():
        ratios, equal, k_case = r["vs_fastbp"], r["members_equal"], r["members"]
        rows.append(
            [
                f"{r['case']} {'-'.join(map(str, r['layers']))}",
                r["dtype"],
                f"{r['rows']:,}",
                epochs_cell(r["epochs"]),
                fmt_time(r["seconds"]["fastbp"]),
                at_least(ratios.get(ONE_BY_ONE), ONE_BY_ONE_TARGETS.get(r["case"])),
                fmt_ratio(ratios.get("sklearn")),
                *(peer_cell(ratios.get(s)) for s in PEERS),
                f"{equal} of {k_case} {mark(equal == k_case)}",
            ]
        )
    header = ["case", "dtype", "rows", "epochs", f"fit_many, {k} members / epoch",
              "one by one ÷ fit_many", "scikit-learn ÷ fit_many", "JAX ÷ fit_many",
              "PyTorch ÷ fit_many", "members equal"]  # fmt: skip
    text = INTRO.format(k=k) + "\n" + table(header, rows)
    search = data.get("search")
    if search:
        grid = " × ".join(f"{len(v)} `{name}`" for name, v in search["grid"].items())
        layers = "-".join(map(str, search["layers"]))
        text += "\n\n" + SEARCH_INTRO.format(**{**search, "grid": grid, "layers": layers})
        text += "\n" + search_table(search)
    return with_notes(text, targets(data))


def search_table(s):
    ratios, same = s["vs_fastbp"], s["same_scores"]
    row = [
        fmt_time(s["seconds"]["fastbp"]),
        at_least(ratios.get("sklearn"), SEARCH_SPEEDUP),
        fmt_ratio(ratios.get(N_JOBS_2)),
        ", ".join(f"{label(x)} {mark(ok)}" for x, ok in same.items()),
    ]
    header = ["fastbp.GridSearchCV", "scikit-learn's ÷ fastbp's",
              "scikit-learn's n_jobs=2 ÷ fastbp's", "same scores"]  # fmt: skip
    return table(header, [row])


def label(system):
    return {ONE_BY_ONE: "fastbp one by one", N_JOBS_2: "scikit-learn n_jobs=2"}.get(
        system, NAMES.get(system, system)
    )


def epochs_cell(epochs):
    """fit_many's epochs, and those of the systems that ran fewer."""
    fewer = {}
    for s, n in epochs.items():
        if n != epochs["fastbp"]:
            fewer.setdefault(n, []).append(label(s))
    return " ".join(
        [str(epochs["fastbp"])]
        + [f"({', '.join(names)}: {n})" for n, names in sorted(fewer.items())]
    )


def at_least(ratio, goal):
    """A ratio's cell: the ratio, and ✓/✗ against ``goal`` if there is one."""
    if ratio is None or goal is None:
        return fmt_ratio(ratio)
    return f"{fmt_ratio(ratio)} {mark(ratio >= goal)}"


def peer_cell(ratio):
    """A peer's ratio to fit_many, ✓ if fit_many is faster."""
    return fmt_ratio(ratio) if ratio is None else f"{fmt_ratio(ratio)} {mark(faster(ratio))}"


def targets(data):
    """Issue 19's targets, judged on these figures, each with ✓/✗ (– if not measured)."""
    cases = list(data["cases"].values())
    notes = []
    for case, goal in ONE_BY_ONE_TARGETS.items():
        got = [(r["dtype"], r["vs_fastbp"][ONE_BY_ONE]) for r in cases if r["case"] == case]
        if got:
            worst = min(v for _, v in got)
            notes.append(
                f"fit_many ≥ {goal:g}× fastbp one by one on {case}: "
                + ", ".join(f"{d} {fmt_ratio(v)}" for d, v in got)
                + f" {mark(worst >= goal)}"
            )
    pairs = [(r, s) for r in cases for s in PEERS if s in r["vs_fastbp"]]
    if pairs:
        lost = [(r, s) for r, s in pairs if not faster(r["vs_fastbp"][s])]
        groups = len({(r["case"], r["dtype"]) for r, _ in pairs})
        note = (
            "fit_many faster than JAX and PyTorch on every case and dtype: faster in"
            f" {len(pairs) - len(lost)} of {len(pairs)} comparisons ({groups} groups)"
        )
        if lost:
            note += "; slower than " + ", ".join(
                f"{NAMES[s]} on {r['case']} {r['dtype']} ({fmt_ratio(r['vs_fastbp'][s])})"
                for r, s in lost
            )
        notes.append(f"{note} {mark(not lost)}")
    else:
        notes.append("fit_many faster than JAX and PyTorch: neither is installed –")
    search = data.get("search")
    if search and "sklearn" in search["vs_fastbp"]:
        r = search["vs_fastbp"]["sklearn"]
        notes.append(
            f"fastbp.GridSearchCV ≥ {SEARCH_SPEEDUP}× scikit-learn's GridSearchCV in the same"
            f" process: {fmt_ratio(r)} {mark(r >= SEARCH_SPEEDUP)}"
        )
    equal = sum(r["members_equal"] for r in cases)
    total = sum(r["members"] for r in cases)
    notes.append(
        f"every fit_many member equal to the same member fitted alone: {equal} of {total}"
        f" {mark(equal == total)}"
    )
    if search:
        same = all(search["same_scores"].values())
        notes.append(f"the searches' mean test scores equal: {mark(same)}")
    threads = sorted({r["info"]["torch"]["threads"] for r in cases if "torch" in r.get("info", {})})
    if threads:
        notes.append(
            f"PyTorch's intra-op threads: {', '.join(map(str, threads))} (its default, as"
            " bench/peers.py leaves it)"
        )
    if any(n != r["epochs"]["fastbp"] for r in cases for n in r["epochs"].values()):
        notes.append(
            "systems whose epochs are slow run fewer of them (the epochs column, in brackets);"
            " every time above is per epoch all the same"
        )
    return notes
