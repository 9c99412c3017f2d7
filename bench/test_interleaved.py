"""Smoke test of bench/interleaved.py (make bench runs it in full)."""

import math

from bench.interleaved import measure_group
from bench.peers import TIMED, available


def test_interleaved_times_every_available_system_against_fastbp():
    g = measure_group("small", "float32", rounds=2, round_s=0, n_samples=300)
    systems = [s for s in TIMED if available(s)]
    assert list(g["seconds"]) == systems
    assert set(g["vs_fastbp"]) == set(systems) - {"fastbp"}
    assert all(math.isfinite(t) and t > 0 for t in g["seconds"].values())
    assert all(math.isfinite(r) and r > 0 for r in g["vs_fastbp"].values())
    assert g["epochs_per_round"]["fastbp"] == 1 and g["rounds"] == 2
