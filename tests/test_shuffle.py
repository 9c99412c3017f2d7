"""The compiled shuffle of the estimators' row orders (fastbp/_shuffle.py): numpy's
RandomState.shuffle, draw for draw."""

import numpy as np
import pytest

from fastbp._shuffle import Shuffler


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 1000, 5000])
@pytest.mark.parametrize("seed", [0, 7])
def test_shuffle_is_randomstates(n, seed):
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    for rs in (ours, theirs):
        rs.random_sample(3)  # a generator part-way through its block of outputs
    shuffle = Shuffler(ours)
    assert shuffle.state is not None  # the compiled path
    a, b = np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    for _ in range(3):  # 5000 rows: through several blocks of 624 outputs
        shuffle(a)
        theirs.shuffle(b)
        np.testing.assert_array_equal(a, b)
    if n > 10:  # (three shuffles of a few rows can come back to the start)
        assert not np.array_equal(a, np.arange(n))
    # the generators are in the same state: the next draws agree
    np.testing.assert_array_equal(ours.random_sample(5), theirs.random_sample(5))
    assert ours.get_state()[2] == theirs.get_state()[2]


@pytest.mark.parametrize(
    "make,dtype",
    [(lambda: np.random.RandomState(np.random.PCG64(0)), np.int64),  # not MT19937
     (lambda: np.random.RandomState(0), np.int32)],
)  # fmt: skip
def test_other_orders_and_generators_go_through_numpy(make, dtype):
    order, expected = np.arange(50, dtype=dtype), np.arange(50, dtype=dtype)
    make().shuffle(expected)
    shuffle = Shuffler(make())
    shuffle(order)
    np.testing.assert_array_equal(order, expected)
