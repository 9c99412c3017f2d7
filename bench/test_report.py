"""bench/report.py on made-up figures in the formats the benchmarks write: every
section, the ticks, the charts, and the fallback for figures a run does not have."""

import json

import pytest

from bench import report
from bench.cases import CASES, DTYPES
from bench.peers import ENGINE, SYSTEMS, TIMED

# Seconds per epoch: fastbp 2x faster than every peer except JAX on seed.
SECONDS = {"seed": 1e-4, "small": 1e-3, "mid": 1e-2, "large": 5e-2}
FACTOR = {"fastbp": 1.0, ENGINE: 0.8, "sklearn": 50.0, "torch": 10.0, "jax": 2.0}


def bench_entry(name, info, median, rounds=7):
    stats = dict(median=median, iqr=0.01 * median, rounds=rounds, min=median, mean=median)
    return dict(name=name, extra_info=info, stats=stats)


def results():
    out = []
    for case in CASES:
        for dtype in DTYPES:
            for system in TIMED:
                t = (
                    SECONDS[case]
                    * FACTOR[system]
                    * (1 / 3 if (case, system) == ("seed", "jax") else 1)
                )
                info = dict(system=system, case=case, dtype=dtype, seconds_per_epoch=t)
                info.update(threads=2 if system == "torch" else None, fit_overhead_s=5e-4)
                if system == "jax" and CASES[case].n_samples % CASES[case].batch_size:
                    info["ragged_batch"] = "one more step after the scan"
                out.append(bench_entry(f"test_epoch[{case}-{dtype}-{system}]", info, 7 * t))
            for limit in (1, None):
                info = dict(system="fastbp", case=case, dtype=dtype, blas_limit=limit)
                info.update(seconds_per_epoch=SECONDS[case] * (1.5 if limit else 1), blas_threads=2)
                out.append(bench_entry(f"test_blas_threads[{case}-{dtype}-{limit}]", info, 1.0))
        for dtype in DTYPES:
            for kind in ("square", "epoch-mid", "epoch-large"):
                info = dict(kind=kind, dtype=dtype, gflops=100.0)
                out.append(bench_entry(f"test_gemm_{kind}[{dtype}]", info, 0.1))
    # After set-up, fastbp slower than scikit-learn on one epoch (by more than the
    # 0.2 s allowed), faster on the default fit, not 3x faster on digits.
    startup = [
        ("python", None, None, 0.1, None),
        ("sklearn", None, "one epoch", 1.3, 0.1),
        ("sklearn", None, "default", 3.0, 0.1),
        ("sklearn", None, "digits", 1.2, 0.3),
        ("fastbp", "warm", "one epoch", 1.55, 0.1),
        ("fastbp", "warm", "default", 1.6, 0.1),
        ("fastbp", "warm", "digits", 1.1, 0.05),
        ("fastbp", "cold", "one epoch", 9.05, 0.1),
    ]
    for system, cache, fit, wall, fit_s in startup:
        steps = {"data": 0.01, "import": 0.5, "fit": fit_s, "predict": 1e-4}
        if fit:
            steps["n_iter"] = {"default": 19, "digits": 100}.get(fit, 1)
        info = dict(system=system, cache=cache, steps=steps, fit=fit)
        out.append(bench_entry(f"test_startup_{system}_{cache}[{fit}]", info, wall, rounds=5))
    info = dict(system="fastbp compile", cache="empty", fit=None, reported_s=9.5)
    out.append(bench_entry("test_startup_setup_compile", info, 10.0, rounds=3))
    return dict(benchmarks=out, datetime="2026-01-01T00:00:00", commit_info=dict(id="abcdef0"))


def memory():
    out = []
    for system in SYSTEMS:
        for dtype in DTYPES:
            m = dict(system=system, dtype=dtype, warm=False, data_mib=30.0, setup_mib=300.0)
            m.update(reset_peak=True, first_peak_mib=340.0, after_first_mib=338.0)
            m.update(before_later_mib=338.0, later_peak_mib=338.5)
            out.append(m)
    return out


def interleaved():
    """As bench/interleaved.py writes it: here JAX beats fastbp on seed in float32 only."""
    out = {}
    for case in CASES:
        for dtype in DTYPES:
            ratio = {s: FACTOR[s] / FACTOR["fastbp"] for s in TIMED if s != "fastbp"}
            if case == "seed":
                ratio["jax"] = 0.5 if dtype == "float32" else 1.2
            out[f"{case}-{dtype}"] = dict(
                seconds={s: SECONDS[case] * FACTOR[s] for s in TIMED},
                vs_fastbp=ratio,
                epochs_per_round={s: 3 for s in TIMED},
                rounds=7,
                round_s=0.15,
            )
    return out


def scaling():
    points = [
        dict(axis=axis, dtype=dtype, x=x, seconds=1e-3 * x / xs[0])
        for axis, xs in (("samples", (2500, 5000)), ("width", (16, 32)))
        for dtype in DTYPES
        for x in xs
    ]
    return dict(
        samples_case=dict(layers="8-16-1", batch=32),
        width_case=dict(layers="8-W-1", n=20000),
        points=points,
    )


def write_figures(tmp_path):
    """Made-up figures of every step, where report.py reads them."""
    (tmp_path / "results.json").write_text(json.dumps(results()))
    (tmp_path / ".memory.json").write_text(json.dumps(memory()))
    (tmp_path / "scaling.json").write_text(json.dumps(scaling()))
    (tmp_path / "interleaved.json").write_text(json.dumps(interleaved()))
    threads = {"small": dict(one_thread_s=2.0, two_threads_s=1.0, speedup=2.0, identical=True)}
    (tmp_path / "threads.json").write_text(json.dumps(threads))
    split = {"mid": {"blas_default": dict(one_thread_s=0.1, split_s=0.2, speedup=0.5)}}
    (tmp_path / "split_batch.json").write_text(json.dumps(split))


def test_report_writes_every_section(tmp_path):
    write_figures(tmp_path)
    report.main(["--dir", str(tmp_path)])

    text = (tmp_path / "RESULTS.md").read_text()
    for title in ("Targets", "Machine", "Seconds per epoch", "GFLOP/s", "Time to first result",
                  "Peak memory", "Side by side, interleaved", "Scaling", "Both cores"):  # fmt: skip
        assert f"## {title}" in text
    targets = text.split("## Targets")[1].split("##")[0]
    # JAX is faster on seed (1.5x), so "faster than every peer" is not met; sklearn 50x is.
    assert "faster on 6 of 8; slower on seed float32 (JAX 0.667×), seed float64" in targets
    assert "(the engine alone, Network.train_epoch: 6 of 8)" in targets
    assert "Interleaved rounds: faster on 7 of 8; slower on seed float32 (JAX 0.5×)" in targets
    inter = text.split("## Side by side, interleaved")[1].split("##")[0]
    assert "~150 ms each, the order rotating, over 7 rounds" in inter
    assert "faster than every peer on 7 of 8" in inter
    assert "| seed 1-2-1 | float32 | 100 µs | 80 µs |" in inter
    assert "| 0.5× (JAX) ✗ | 50× | 1.25× |" in inter
    assert "Estimator ÷ engine: seed float32 1.25×, seed float64 1.25×, small" in text
    assert "| ≥ 30× scikit-learn on small (float32) | float32 50×, float64 50× | ✓ |" in targets
    assert "| ≥ 1,000× scikit-learn on seed (float32) | float32 50×, float64 50× | ✗ |" in targets
    assert (
        "within 0.2 s of scikit-learn's | fastbp 1.55 s, scikit-learn 1.30 s: +0.25 s | ✗"
    ) in targets
    # digits: (0.5 + 0.3 + 1e-4) / (0.5 + 0.05 + 1e-4) = 1.45
    assert "| 1.45× (fastbp 550 ms, scikit-learn 800 ms; whole processes 1.09×) | ✗ |" in targets
    assert "| the set-up, `fastbp compile`, on an empty cache | 10.00 s (median of 3) | – |" in (
        targets
    )
    assert "+7.5 s (one-epoch fits) | ✗" in targets
    start = text.split("## Time to first result")[1].split("##")[0]
    assert "| scikit-learn | default | 19 | **3.00 s** | 5 |" in start
    assert "| fastbp, after set-up | digits | 100 | **1.10 s** | 5 |" in start
    assert "Fit 'default': after set-up, fastbp's process takes 0.53× scikit-learn's (-1.40 s)" in (
        start
    )
    assert "Fit 'one epoch': after set-up, fastbp's process takes 1.19× scikit-learn's" in start
    assert "cold cache) cost 7.5 s more" in start
    assert "on this machine's cores): **10.00 s** (median of 3 fresh processes)" in start
    assert "later epochs here raise the peak by ≤ 0.5 MiB | ✓" in targets
    assert "| small 8-16-1 | float32 | 1.5 ms | 1 ms (2 threads) | 1.50× |" in text
    assert "| mid | default | 100 ms | 200 ms | 0.50× |" in text
    assert "mid: 32 rows, large: 16 rows" in text  # JAX's ragged last batches
    for png in ("results.png", "scaling.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_report_quotes_split_batch_when_a_run_has_none():
    text = report.both_cores_section(results(), None, None)
    assert "as committed with it" in text and "python -m bench.split_batch" in text
    assert "Thread-parallel fits" not in text


def test_faster_than_every_peer_needs_both_passes():
    # The pytest pass won everywhere; the interleaved one lost one case: not met.
    times = {(c, d): {"fastbp": 1.0, "jax": 1.5, "torch": 2.0} for c in CASES for d in DTYPES}
    inter = interleaved()

    def row():
        text = report.targets_section(times, {}, [], [], inter)
        return [r for r in text.splitlines() if "faster than every peer" in r][0]

    assert "| faster on 8 of 8. Interleaved rounds: faster on 7 of 8; slower on" in row()
    assert row().endswith("| ✗ |")
    inter["seed-float32"]["vs_fastbp"]["jax"] = 1.1
    assert row().endswith("| ✓ |")


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_an_interrupted_report_keeps_the_last_one(nth, tmp_path, monkeypatch):
    """The charts and RESULTS.md are replaced whole (fastbp._files): Ctrl-C while the
    nth of them is written leaves it as it was, the ones before it new, no partial."""
    from fastbp import _files

    write_figures(tmp_path)
    outputs = ("results.png", "scaling.png", "RESULTS.md")
    for name in outputs:
        (tmp_path / name).write_bytes(b"the last report")
    real, calls = _files.os.replace, []

    def replace(src, dst):  # Ctrl-C once the nth file is written, before its rename
        calls.append(dst)
        if len(calls) == nth:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(_files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        report.main(["--dir", str(tmp_path)])
    old = [name for name in outputs if (tmp_path / name).read_bytes() == b"the last report"]
    assert old == list(outputs[nth - 1 :])
    assert not [p for p in tmp_path.iterdir() if _files.is_partial(p)]


def test_both_cores_quotes_fastbps_thresholds():
    """The thresholds the text names are fastbp's own values, not copies that go stale."""
    from fastbp._config import BLAS_THREADS_MIN_FLOPS
    from fastbp._kernels.config import BLAS_MIN_FLOPS
    from fastbp._kernels.generated import MAX_PRODUCT

    text = report.both_cores_section(results(), None, None)
    assert f"`BLAS_THREADS_MIN_FLOPS` = 2^{BLAS_THREADS_MIN_FLOPS.bit_length() - 1} " in text
    assert f"`BLAS_MIN_FLOPS` = {BLAS_MIN_FLOPS} " in text
    assert f"the best threshold to {BLAS_MIN_FLOPS};" in text
    assert f"`MAX_PRODUCT` = {MAX_PRODUCT} train" in text
    assert "so mid trains on one thread and large on all." in text
