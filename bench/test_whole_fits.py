"""A smoke test of bench/whole_fits.py and its report section: one set, one solver,
one short round (the timings themselves are make bench's)."""

from bench import report_fits, whole_fits


def test_whole_fits_measure_and_report(monkeypatch):
    monkeypatch.setattr(whole_fits, "systems", lambda solver: {
        "fastbp": whole_fits.fastbp_fit,
        "scikit-learn (1 thread)": whole_fits.one_thread(whole_fits.sklearn_fit),
        "scikit-learn": whole_fits.sklearn_fit,
    })  # fmt: skip
    data = whole_fits.measure(["iris"], ["adam"], rounds=1, round_s=0.01)
    r = data["iris-adam"]
    assert r["rows"] == 150 and r["layers"] == [4, 100, 3]
    assert r["epochs"]["fastbp"] == r["epochs"]["scikit-learn"] > 0  # the same fit
    assert r["split"]["arithmetic_s"] > 0 and r["split"]["per_epoch_s"] > 0
    text = report_fits.whole_fits_section(data)
    assert "iris (150 rows, 4-100-3)" in text and "fixed cost of a 150-row fit" in text
