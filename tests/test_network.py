"""fastbp.Network: the flat buffer, its views, initialisation, dtypes and validation."""

import pickle

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

from fastbp import Network

from helpers import blas_threads, needs_two_cpus


def test_params_is_one_buffer_with_views_in_sklearn_pack_order():
    net = Network([3, 4, 2], random_state=0)
    assert net.params.ndim == 1 and net.params.flags.c_contiguous
    assert net.params.size == 3 * 4 + 4 * 2 + 4 + 2
    assert [c.shape for c in net.coefs] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.intercepts] == [(4,), (2,)]
    packed = np.hstack([a.ravel() for a in net.coefs + net.intercepts])
    np.testing.assert_array_equal(net.params, packed)
    for view in net.coefs + net.intercepts:
        assert np.shares_memory(view, net.params)
    # writing through a view changes params, and the other way round
    net.coefs[1][2, 1] = 42.0
    assert net.params[12 + 2 * 2 + 1] == 42.0
    net.params[-1] = -7.0
    assert net.intercepts[1][1] == -7.0
    # one SGD step in place keeps the views
    before = net.params.copy()
    net.params -= 0.5 * np.ones_like(net.params)
    np.testing.assert_array_equal(net.coefs[0].ravel(), before[:12] - 0.5)
    net.params = np.zeros_like(net.params)
    assert not net.coefs[0].any()


@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initialisation_is_sklearns(activation, dtype):
    sizes = [5, 7, 3, 2]
    net = Network(sizes, activation, dtype=dtype, random_state=42)
    ref = MLPRegressor(activation=activation)
    ref._random_state = np.random.RandomState(42)
    expected = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        expected.append(ref._init_coef(fan_in, fan_out, dtype))
    for i, (coef, intercept) in enumerate(expected):
        assert net.coefs[i].dtype == dtype
        np.testing.assert_array_equal(net.coefs[i], coef)
        np.testing.assert_array_equal(net.intercepts[i], intercept)


def test_random_state_forms():
    a = Network([2, 3, 1], random_state=3).params
    b = Network([2, 3, 1], random_state=np.random.RandomState(3)).params
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(Network([2, 3, 1]).params, Network([2, 3, 1]).params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_in_dtype_out(dtype):
    net = Network([4, 6, 3], "tanh", "softmax", dtype=dtype, random_state=0)
    X = np.random.RandomState(0).rand(10, 4).astype(dtype)
    Y = np.eye(3)[np.arange(10) % 3].astype(dtype)
    out = net.forward(X)
    loss, grad = net.loss_gradient(X, Y, "log_loss")
    assert out.dtype == dtype and grad.dtype == dtype and net.params.dtype == dtype
    assert isinstance(loss, float)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-6)


def test_inputs_are_not_modified():
    net = Network([3, 5, 2], random_state=0)
    rng = np.random.RandomState(0)
    X, Y, sw = rng.rand(8, 3), rng.rand(8, 2), rng.rand(8) + 0.1
    copies = [a.copy() for a in (X, Y, sw)]
    for a in (X, Y, sw):
        a.setflags(write=False)
    net.forward(X)
    net.loss_gradient(X, Y, sample_weight=sw, alpha=1.0)
    for a, c in zip((X, Y, sw), copies):
        np.testing.assert_array_equal(a, c)


def test_any_memory_order_and_large_batches():
    net = Network([6, 9, 2], random_state=0)
    X = np.random.RandomState(1).rand(5000, 6)
    expected = net.forward(X)
    np.testing.assert_array_equal(net.forward(np.asfortranarray(X)), expected)
    # rows land in other chunks: BLAS may sum in another order
    np.testing.assert_allclose(net.forward(X[::-1])[::-1], expected, rtol=1e-12)
    # chunked full-batch gradient equals one computed on each half
    Y = np.random.RandomState(2).rand(5000, 2)
    loss, grad = net.loss_gradient(X, Y)
    l1, g1 = net.loss_gradient(X[:2500], Y[:2500])
    l2, g2 = net.loss_gradient(X[2500:], Y[2500:])
    np.testing.assert_allclose(loss, (l1 + l2) / 2, rtol=1e-12)
    np.testing.assert_allclose(grad, (g1 + g2) / 2, rtol=1e-9, atol=1e-15)


def test_pickle_round_trip_keeps_views():
    net = Network([3, 4, 1], "softplus", random_state=0)
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.params, net.params)
    X = np.random.RandomState(0).rand(4, 3)
    np.testing.assert_array_equal(clone.forward(X), net.forward(X))
    clone.coefs[0][0, 0] = 9.0
    assert clone.params[0] == 9.0 and net.params[0] != 9.0


def test_the_architecture_is_read_only():
    # The kernels' offsets, codes and buffers follow from these: changing one under
    # a built network made them read and write past the end of params.
    net = Network([3, 4, 2], "relu", random_state=0)
    with pytest.raises(ValueError, match="read-only"):
        net.layer_sizes[1] = 40
    for name, value in [("layer_sizes", np.array([3, 40, 2])), ("activation", "tanh"),
                        ("output_activation", "softmax"), ("dtype", np.float32)]:  # fmt: skip
        with pytest.raises(AttributeError, match=f"'{name}'"):
            setattr(net, name, value)
    assert net.layer_sizes.tolist() == [3, 4, 2] and net.activation == "relu"
    # also in copies (pickle does not keep numpy's flag) and in pickles made while
    # these were plain attributes
    import copy

    state = net.__getstate__()
    for name in ("layer_sizes", "activation", "output_activation", "dtype"):
        state[name] = state.pop("_" + name)
    old = Network.__new__(Network)
    old.__setstate__(state)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net)), old):
        with pytest.raises(ValueError, match="read-only"):
            other.layer_sizes[1] = 40
        assert other.activation == "relu" and other.layer_sizes.tolist() == [3, 4, 2]
        np.testing.assert_array_equal(other.params, net.params)
    # the lists of views keep one array per layer
    with pytest.raises(TypeError, match="one array per layer"):
        net.coefs.append(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="one array per layer"):
        net.intercepts += [np.zeros(2)]


def test_assigning_params_coefs_or_intercepts_copies_into_the_buffer():
    net = Network([3, 4, 2], random_state=0)
    buffer = net.params
    net.coefs[0] = np.zeros((3, 4))
    net.intercepts = [np.ones(4), np.full(2, 2.0)]
    net.coefs = [np.full((3, 4), 3.0), np.full((4, 2), 4.0)]
    assert net.params is buffer and all(np.shares_memory(c, buffer) for c in net.coefs)
    expected = np.concatenate([np.full(12, 3.0), np.full(8, 4.0), np.ones(4), np.full(2, 2.0)])
    np.testing.assert_array_equal(net.params, expected)
    X = np.random.RandomState(0).rand(5, 3)
    np.testing.assert_array_equal(
        net.forward(X), np.maximum(X @ net.coefs[0] + 1, 0) @ net.coefs[1] + 2
    )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("params", np.array([0.5] * 25 + [10**400], dtype=object), "params must be numbers"),
        ("params", np.array(["1"] * 25 + ["x"]), "params must be numbers"),
        ("params", np.ones(26) * 1j, "params must be real"),
        ("params", np.ones(25), r"params must have shape \(26,\), got \(25,\)"),
        ("coefs", [np.zeros((3, 4)), np.zeros((2, 4))], r"coefs\[1\] must have shape \(4, 2\)"),
        ("coefs", [np.zeros((3, 4))], "coefs needs 2 arrays, got 1"),
        ("coefs[0]", np.zeros((4, 3)), r"coefs\[0\] must have shape \(3, 4\)"),
        ("intercepts[1]", ["a", "b"], r"intercepts\[1\] must be numbers"),
    ],
)
def test_a_failed_assignment_changes_nothing(name, value, message):
    net = Network([3, 4, 2], random_state=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=message):
        if name.endswith("]"):
            getattr(net, name[:-3])[int(name[-2])] = value
        else:
            setattr(net, name, value)
    np.testing.assert_array_equal(net.params, before)


def test_a_memory_mapped_network_trains_on_a_copy(tmp_path):
    import joblib

    X, y = np.random.RandomState(0).randn(12, 3), np.random.RandomState(1).randn(12)
    net = Network([3, 4, 1], random_state=0)
    joblib.dump(net, tmp_path / "net.joblib")
    mapped = joblib.load(tmp_path / "net.joblib", mmap_mode="r")
    assert not mapped.params.flags.writeable
    assert mapped.train_epoch(X, y, batch_size=4) == net.train_epoch(X, y, batch_size=4)
    np.testing.assert_array_equal(mapped.params, net.params)
    assert mapped.params.flags.writeable and np.shares_memory(mapped.coefs[0], mapped.params)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(layer_sizes=[3]), "input and an output"),
        (dict(layer_sizes=[3, 0, 1]), ">= 1"),
        (dict(layer_sizes=[3, 2.5, 1]), ">= 1"),
        (dict(layer_sizes=5), "sequence"),
        (dict(layer_sizes=[2, 1], activation="swish"), "Unknown activation"),
        (dict(layer_sizes=[2, 1], activation="softmax"), "Unknown activation"),
        (dict(layer_sizes=[2, 1], output_activation="tanh"), "Unknown output_activation"),
        (dict(layer_sizes=[2, 1], dtype=np.int32), "float32 or float64"),
        (dict(layer_sizes=[2, 1], dtype="float16"), "float32 or float64"),
    ],
)
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda net, X, Y: net.forward(X[:, :2]), "2 features, but the network expects 3"),
        (lambda net, X, Y: net.forward(X[0]), "2-D"),
        (lambda net, X, Y: net.forward(np.where(X > 0.5, np.nan, X)), "NaN"),
        (lambda net, X, Y: net.forward(np.where(X > 0.5, np.inf, X)), "NaN or inf"),
        (lambda net, X, Y: net.forward([["a", "b", "c"]]), "numeric"),
        (lambda net, X, Y: net.loss_gradient(X, Y[:3]), r"shape \(4, 2\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y[:, :1]), r"shape \(4, 2\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y * np.nan), "y contains NaN"),
        (lambda net, X, Y: net.loss_gradient(X, Y, loss="hinge"), "Unknown loss"),
        (lambda net, X, Y: net.loss_gradient(X, Y, loss="log_loss"), "cannot be used"),
        (lambda net, X, Y: net.loss_gradient(X, Y, alpha=-1), "alpha"),
        (lambda net, X, Y: net.loss_gradient(X, Y, sample_weight=[1, 2]), r"\(4,\)"),
        (lambda net, X, Y: net.loss_gradient(X, Y, sample_weight=-np.ones(4)), ">= 0"),
        (lambda net, X, Y: net.loss_gradient(X[:0], Y[:0]), "0 samples"),
    ],
)
def test_bad_call_arguments(call, message):
    net = Network([3, 4, 2], random_state=0)
    X = np.random.RandomState(0).rand(4, 3)
    Y = np.random.RandomState(1).rand(4, 2)
    with pytest.raises(ValueError, match=message):
        call(net, X, Y)


def sgd_by_hand(net, X, Y, order, batch_size, lr, **kw):
    """train_epoch's reference: loss_gradient on each batch, then params -= lr * grad."""
    total = 0.0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        sw = kw.get("sample_weight")
        loss, grad = net.loss_gradient(
            X[rows], Y[rows], sample_weight=None if sw is None else sw[rows],
            alpha=kw.get("alpha", 0.0), loss=kw.get("loss", "squared_error"),
        )  # fmt: skip
        net.params -= net.dtype(lr) * grad
        total += loss * len(rows)
    return total / len(order)


# [2, 3, 1] with batches of 4 (products by loops), [5, 16, 8, 2] with batches of 7 (by
# BLAS); orders: all rows, a shuffle, a subset with a repeat and a ragged last batch.
@pytest.mark.parametrize("sizes,batch", [([2, 3, 1], 4), ([5, 16, 8, 2], 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_train_epoch_is_sgd_on_loss_gradient(sizes, batch, dtype, weighted):
    rng = np.random.RandomState(0)
    X, Y = rng.randn(30, sizes[0]), rng.randn(30, sizes[-1])
    sw = rng.uniform(0.5, 2, 30) if weighted else None
    net = Network(sizes, "tanh", dtype=dtype, random_state=0)
    ref = Network(sizes, "tanh", dtype=dtype, random_state=0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for order in (None, rng.permutation(30), np.array([3, 3, 0, 29, 7, 12, 5, 8, 1, 2, 4])):
        rows = np.arange(30) if order is None else order
        kw = dict(sample_weight=sw, alpha=0.01)
        expected = sgd_by_hand(ref, X, Y, rows, batch, 0.05, **kw)
        got = net.train_epoch(X, Y, batch_size=batch, learning_rate=0.05, order=order, **kw)
        np.testing.assert_allclose(net.params, ref.params, rtol=tol, atol=tol)
        np.testing.assert_allclose(got, expected, rtol=tol)
    assert net.params.dtype == dtype


def test_train_epoch_lowers_the_loss_of_a_classifier():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2)
    Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    net = Network([2, 8, 1], "tanh", output_activation="logistic", random_state=0)
    first = net.loss_gradient(X, Y, loss="log_loss")[0]
    for _ in range(30):
        net.train_epoch(X, Y, 10, 0.5, order=rng.permutation(200), loss="log_loss")
    assert net.loss_gradient(X, Y, loss="log_loss")[0] < 0.5 * first


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(learning_rate=np.inf), "learning_rate"),
        (dict(learning_rate="fast"), "learning_rate"),
        (dict(learning_rate=True), "learning_rate"),
        (dict(learning_rate=10**400), "learning_rate"),
        (dict(order=[0, 4]), r"outside \[0, 4\)"),
        (dict(order=[-1]), "outside"),
        (dict(order=[0.5, 1.0]), "integers"),
        (dict(order=[[0, 1]]), "1-D"),
        (dict(order=[]), "empty"),
        (dict(sample_weight=[1, 0, 0, 1], batch_size=1), "batch's sample weights sum to 0"),
        (dict(loss="hinge"), "Unknown loss"),
        (dict(alpha=-1), "alpha"),
        (dict(alpha=10**400), "alpha"),
    ],
)
def test_train_epoch_bad_arguments_leave_params_alone(kwargs, message):
    net = Network([3, 4, 2], random_state=0)
    X, Y = np.random.RandomState(0).rand(4, 3), np.random.RandomState(1).rand(4, 2)
    before = net.params.copy()
    with pytest.raises(ValueError, match=message):
        net.train_epoch(X, Y, **{"batch_size": 2, **kwargs})
    np.testing.assert_array_equal(net.params, before)


def test_train_epoch_divergence_restores_params():
    net = Network([1, 4, 1], "identity", random_state=0)
    X = np.full((8, 1), 1e3)
    before = net.params.copy()
    with pytest.raises(FloatingPointError, match="left as they were"):
        for _ in range(50):  # the loss grows tenfold and more each epoch, then overflows
            net.train_epoch(X, np.full(8, 1e3), batch_size=1, learning_rate=1.0)
            before = net.params.copy()
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize(
    "sizes,batch,threads", [([64, 128, 64, 10], 64, 1), ([784, 256, 10], 128, None)]
)
def test_train_epoch_uses_blas_threads_as_the_estimators(monkeypatch, sizes, batch, threads):
    # One BLAS thread when every product per batch is small (_threads.py); BLAS's own
    # threads (None: not limited) on large layers.
    from fastbp._kernels import epochs

    needs_two_cpus()
    Network([2, 2, 1]).train_epoch(np.zeros((3, 2)), np.zeros(3))  # loads SciPy's BLAS
    before, seen, real = blas_threads(), [], epochs.run_epoch
    # With BLAS on one thread already, a limit to one is invisible and both cases pass.
    if min(before) == 1:
        pytest.skip(f"BLAS starts with {before} thread(s) (OPENBLAS_NUM_THREADS=1?)")

    def spy(*args):
        seen.append(blas_threads())
        return real(*args)

    monkeypatch.setattr(epochs, "run_epoch", spy)
    rng = np.random.RandomState(0)
    net = Network(sizes, random_state=0)
    net.train_epoch(rng.randn(300, sizes[0]), rng.randn(300, sizes[-1]), batch_size=batch)
    assert seen == [[threads] if threads else before]
    assert blas_threads() == before


@pytest.mark.parametrize("sizes,batch", [([2, 3, 1], 4), ([5, 16, 8, 2], 7)])
def test_train_epoch_without_input_checks_trains_the_same(sizes, batch):
    rng = np.random.RandomState(0)
    X, Y, sw = rng.randn(30, sizes[0]), rng.randn(30, sizes[-1]), rng.uniform(0.5, 2, 30)
    y = Y[:, 0].copy() if sizes[-1] == 1 else Y  # 1-D targets for one output
    checked = Network(sizes, "tanh", random_state=0)
    trusted = Network(sizes, "tanh", random_state=0)
    for _ in range(3):
        order = rng.permutation(30)
        kw = dict(batch_size=batch, learning_rate=0.05, order=order, sample_weight=sw, alpha=0.1)
        a = checked.train_epoch(X, y, **kw)
        b = trusted.train_epoch(X, y, check_input=False, **kw)
        assert a == b
        np.testing.assert_array_equal(trusted.params, checked.params)


@pytest.mark.parametrize(
    "X,y,kwargs,message",
    [
        ([[0.0, 1.0, 2.0]] * 4, None, {}, "X must be a C-contiguous float64 array of shape"),
        (np.zeros((4, 3), np.float32), None, {}, "X must be .* got float32"),
        (np.zeros((3, 4)).T, None, {}, "C-contiguous"),
        (np.zeros((4, 6))[:, ::2], None, {}, "C-contiguous"),
        (None, np.zeros((4, 3)), {}, r"y must .* shape \(4, 2\)"),
        (None, None, dict(sample_weight=np.ones(5)), r"sample_weight must .* \(4,\)"),
        (None, None, dict(order=[0, 9]), r"outside \[0, 4\)"),
        (np.zeros((0, 3)), np.zeros((0, 2)), {}, "0 samples"),
    ],
)
def test_train_epoch_without_input_checks_still_checks_what_the_kernels_read(X, y, kwargs, message):
    net = Network([3, 4, 2], random_state=0)
    X = np.random.RandomState(0).rand(4, 3) if X is None else X
    y = np.random.RandomState(1).rand(4, 2) if y is None else y
    before = net.params.copy()
    with pytest.raises(ValueError, match=message):
        net.train_epoch(X, y, batch_size=2, check_input=False, **kwargs)
    np.testing.assert_array_equal(net.params, before)


def test_train_epoch_takes_any_layout_after_a_first_call():
    """train_epoch calls its kernel's compiled entry point, which trusts the types of
    what it is handed (fastbp._kernels.protocol.entry_point): inputs in other
    layouts after a first call are made C-ordered first, and train the same."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randn(40)
    a, b = Network([3, 4, 1], "tanh", random_state=0), Network([3, 4, 1], "tanh", random_state=0)
    a.train_epoch(X, y, batch_size=5)
    b.train_epoch(X, y, batch_size=5)  # (entry points found from here on)
    wide = np.zeros((40, 6))
    wide[:, ::2] = X
    for Xs, ys, order in [
        (np.asfortranarray(X), y, np.arange(40)),
        (wide[:, ::2], np.repeat(y, 2)[::2], np.arange(80)[::2] // 2),
    ]:
        a.train_epoch(X, y, batch_size=5, order=np.arange(40))
        b.train_epoch(Xs, ys, batch_size=5, order=order)
        np.testing.assert_array_equal(b.params, a.params)


def test_an_entry_point_only_for_the_types_compiled():
    from fastbp._kernels import protocol
    from fastbp._kernels.epochs import run_epoch

    args = (protocol.data(np.zeros((2, 3)), np.float64),)
    assert protocol.entry_point(run_epoch, args) is run_epoch  # no overload of one argument
