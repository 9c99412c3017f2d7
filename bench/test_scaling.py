"""Smoke test of bench/scaling.py (make bench runs it in full)."""

import math

from bench.scaling import measure


def test_scaling_measures_every_point():
    out = measure(samples=(500, 1000), widths=(4, 8), dtypes=("float32",), round_s=0, rounds=1)
    assert [(p["axis"], p["x"]) for p in out["points"]] == [
        ("samples", 500),
        ("samples", 1000),
        ("width", 4),
        ("width", 8),
    ]
    assert all(math.isfinite(p["seconds"]) and p["seconds"] > 0 for p in out["points"])
