"""A smoke test of bench/many.py and its report section: every case in both dtypes on a
few rows, 3 members, a few epochs, one round, and the search on a few rows (the
timings themselves are make bench's); and a check that the JAX and PyTorch peers of
bench/many.py train what fastbp trains."""

import numpy as np
import pytest

from bench import many, report_many
from bench.cases import CASES, DTYPES, LEARNING_RATE, make_data, smoke_samples
from bench.peers import MANY_TRAINERS, available, glorot_uniform, permutations

TINY = {c: many.Size(rows=smoke_samples(CASES[c]), epochs=2, slow_epochs=1) for c in many.SIZES}


def test_many_measure_and_report():
    data = many.measure(rounds=1, sizes=TINY, k=3)
    assert data["members"] == 3
    assert set(data["cases"]) == {f"{c}-{d}" for c in many.SIZES for d in DTYPES}
    peers = {s for s in MANY_TRAINERS if available(s)}
    for name, r in data["cases"].items():
        # each member fitted by fit_many equals the same member fitted alone
        assert r["members_equal"] == r["members"] == 3, name
        assert r["epochs"] == {"fastbp": 2, many.ONE_BY_ONE: 2, "sklearn": 1,
                               **{s: 2 if s == "jax" else 1 for s in peers}}  # fmt: skip
        assert set(r["vs_fastbp"]) == set(r["seconds"]) - {"fastbp"}
        assert all(t > 0 for t in r["seconds"].values())
    s = data["search"]
    assert s["candidates"] == 16 and s["folds"] == 3
    assert set(s["vs_fastbp"]) == {"sklearn", many.N_JOBS_2}
    assert s["same_scores"] == {"sklearn": True, many.N_JOBS_2: True}
    text = report_many.many_section(data)
    assert "| seed 1-2-1 | float32 | 200 | 2 (scikit-learn" in text
    assert "| mid 64-128-64-10 | float64 |" in text and "3 of 3 ✓" in text
    assert "every fit_many member equal to the same member fitted alone: 18 of 18 ✓" in text
    assert "4 `alpha` × 4 `learning_rate_init`, 3 folds" in text
    if peers:
        assert "fit_many faster than JAX and PyTorch on every case and dtype" in text


@pytest.mark.parametrize("case_name", ["seed", "mid"])  # mid: 10 outputs, a ragged last batch
@pytest.mark.parametrize("system", list(MANY_TRAINERS))
def test_peers_train_what_fastbp_trains(system, case_name):
    """Member j of a peer, after two epochs, equals fastbp.Network trained from the same
    initial weights (glorot_uniform's seed j) over the same permutations."""
    if not available(system):
        pytest.skip(f"{system} is not installed")
    import fastbp

    case, dtype, k = CASES[case_name], "float64", 2
    X, y = make_data(case, dtype, n_samples=200)
    trainer = MANY_TRAINERS[system](case, dtype, X, y, k)
    trainer.epochs(2)
    rng = np.random.default_rng(0)  # the trainer's permutations, drawn again
    orders = [permutations(rng, k, len(X)) for _ in range(2)]
    for j, weights in enumerate(trainer.weights()):
        net = fastbp.Network(case.layers, case.activation, dtype=dtype)
        for i, (W, b) in enumerate(glorot_uniform(case, dtype, j)):
            net.coefs[i][...] = W
            net.intercepts[i][...] = b
        for order in orders:
            net.train_epoch(X, y, case.batch_size, LEARNING_RATE, order=order[j])
        for (W, b), W_ref, b_ref in zip(weights, net.coefs, net.intercepts, strict=True):
            np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-12)
