"""bench/report.py's charts: results.png (seconds per epoch of every system, every
case) and scaling.png (fastbp's epoch time against samples and width). matplotlib is
imported only here, and only when a chart is drawn."""

from bench.cases import CASES, DTYPES
from bench.peers import ENGINE, TIMED
from bench.report_format import NAMES, fmt_ratio, fmt_time
from bench.report_judge import best_peer
from fastbp._files import replace_file

COLORS = {"fastbp": "#d62728", ENGINE: "#9467bd", "sklearn": "#1f77b4", "torch": "#ff7f0e",
          "jax": "#2ca02c"}  # fmt: skip


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: the charts only go to files
    import matplotlib.pyplot as plt

    return matplotlib, plt


def save(fig, path):
    """Write ``fig`` to ``path`` whole or not at all (an interrupted report keeps the
    last chart), then free it."""
    import matplotlib.pyplot as plt  # set up by pyplot() before the figure was drawn

    replace_file(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


def plot_results(times, path):
    _, plt = pyplot()
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
    save(fig, path)


def plot_scaling(scaling, path):
    matplotlib, plt = pyplot()
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
    save(fig, path)
