"""bench/report.py's sections on training speed: seconds per epoch, GFLOP/s against
the machine's GEMM rate, the interleaved side-by-side rounds and fastbp's scaling."""

from statistics import median

from bench.cases import CASES, DTYPES, epoch_flops
from bench.peers import ENGINE, TIMED, available
from bench.report_format import NAMES, PEERS, fmt_ratio, fmt_time, table, with_notes
from bench.report_judge import (
    NOISY_IQR,
    SKLEARN_TARGETS,
    best_peer,
    interleaved_lost,
    peer_verdict,
    sklearn_verdict,
)


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
            vs_peer = peer_verdict(peer[0] / fast, peer[1]) if fast and peer else "–"
            vs_sk = sklearn_verdict(case, t["sklearn"] / fast if fast and "sklearn" in t else None)
            rows.append([f"{case} {CASES[case].label}", dtype, *cells, vs_peer, vs_sk])
    header = [
        "case",
        "dtype",
        *[NAMES[s] for s in TIMED],
        "best peer ÷ fastbp",
        "sklearn ÷ fastbp",
    ]
    text = table(header, rows, ["l", "l"] + ["r"] * (len(header) - 2))
    return with_notes(text, epoch_notes(times, noisy, infos))


def epoch_notes(times, noisy, infos):
    """The notes under the seconds per epoch: how each system ran, what is missing."""
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
    return notes


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
        vs = peer_verdict(*best) if best else "–"
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
