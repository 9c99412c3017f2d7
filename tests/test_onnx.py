"""fastbp.to_onnx and skl2onnx's converters for fastbp's models, with onnxruntime as
the oracle: its outputs must equal predict / predict_proba / forward to 1e-5 relative
in float graphs and 1e-12 in double graphs, and its labels exactly."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import skl2onnx  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

import fastbp  # noqa: E402
from fastbp._tables import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS  # noqa: E402

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


def run(onx, X):
    """onnxruntime's outputs for X (an array, or a dict of inputs), by name."""
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = X if isinstance(X, dict) else {session.get_inputs()[0].name: X}
    return {o.name: v for o, v in zip(session.get_outputs(), session.run(None, feeds))}


def assert_close(got, want, dtype):
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=0)


def fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def data(dtype, n=60, seed=0):
    return np.random.RandomState(seed).normal(size=(n, 4)).astype(dtype)


# ------------------------------------------------------------- activations ----


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("hidden", sorted(HIDDEN_ACTIVATIONS))
def test_every_activation_and_output(hidden, output, dtype):
    net = fastbp.Network([4, 8, 7, 3], hidden, output, dtype=dtype, random_state=1)
    # outputs away from 0: where a sum cancels to near 0, float32 gives it with the
    # absolute error of its terms, in fastbp as in onnxruntime
    net.intercepts[-1] += 2.0
    X = 2.0 * data(dtype, 50)
    out = run(fastbp.to_onnx(net, X[:1]), X)
    assert list(out) == ["variable"]
    assert_close(out["variable"], net.forward(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", sorted(HIDDEN_ACTIVATIONS))
def test_hidden_activations_in_their_tails(hidden, dtype):
    # each output is one hidden unit's activation (identity output, identity weights),
    # at inputs where the usual ONNX ops part from fastbp's formulas: Sigmoid far
    # below 0, Softplus below -20 (1 + e^x rounds to 1) and above 88 (e^x overflows)
    z = np.array([-100.0, -60.0, -30.0, -5.0, -0.5, 0.5, 5.0, 30.0, 60.0, 100.0])
    net = fastbp.Network([1, z.size, z.size], hidden, "identity", dtype=dtype)
    net.coefs = [z[None, :], np.eye(z.size)]
    net.intercepts = [np.zeros(z.size), np.zeros(z.size)]
    X = np.array([[1.0], [0.5], [-1.0]], dtype=dtype)
    out = run(fastbp.to_onnx(net, X[:1]), X)["variable"]
    want = net.forward(X)
    assert_close(out, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["logistic", "exp", "softmax"])
def test_output_activations_in_their_tails(output, dtype):
    # exp saturates at the dtype's range as fastbp's does (e^100 is past float32's)
    z = np.array([-100.0, -60.0, -30.0, -5.0, 0.5, 30.0, 80.0, 100.0])
    net = fastbp.Network([1, z.size], "relu", output, dtype=dtype)
    net.coefs = [z[None, :]]
    net.intercepts = [np.zeros(z.size)]
    X = np.array([[1.0], [0.25]], dtype=dtype)
    want = net.forward(X)
    assert_close(run(fastbp.to_onnx(net, X[:1]), X)["variable"], want, dtype)


# ------------------------------------------------------------ the estimators ----


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor(loss, n_outputs, dtype):
    X = data(dtype)
    y = 3.0 + np.abs(X[:, :n_outputs]) + X[:, 1:2]  # positive, away from 0
    y = y.ravel() if n_outputs == 1 else y
    est = fastbp.MLPRegressor(loss, hidden_layer_sizes=(6, 5), max_iter=30, random_state=0)
    fitted(est, X, y)
    out = run(fastbp.to_onnx(est, X[:1]), X)
    # skl2onnx's shape for scikit-learn's regressors: (n, 1) for one output
    assert out["variable"].shape == (X.shape[0], n_outputs)
    assert_close(out["variable"], est.predict(X).reshape(X.shape[0], -1), dtype)


def classification_targets(kind, X):
    rng = np.random.RandomState(3)
    score = X[:, 0] + 0.5 * X[:, 1]
    if kind == "multilabel":
        return (X[:, :3] + 0.3 * rng.normal(size=(X.shape[0], 3)) > 0).astype(int)
    three = np.digitize(score, [-0.5, 0.5])
    return {
        "binary": (score > 0).astype(int),
        "multiclass": three,
        "strings": np.array(["ant", "bee", "cat"])[three],
        "binary_strings": np.array(["no", "yes"])[(score > 0).astype(int)],
        "booleans": score > 0,
        "integral_floats": three.astype(float) * 2.0,
    }[kind]


KINDS = ["binary", "multiclass", "multilabel", "strings", "binary_strings", "booleans",
         "integral_floats"]  # fmt: skip


def labels_as_onnx_gives_them(labels):
    labels = np.asarray(labels)
    return labels.astype(object) if labels.dtype.kind in "OUS" else labels.astype(np.int64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_classifier_labels_and_probabilities(kind, dtype):
    X = data(dtype, 80)
    est = fastbp.MLPClassifier((6,), activation="tanh", max_iter=40, random_state=0)
    fitted(est, X, classification_targets(kind, X))
    out = run(fastbp.to_onnx(est, X[:1], options={"zipmap": False}), X)
    assert list(out) == ["label", "probabilities"]
    want = labels_as_onnx_gives_them(est.predict(X))
    assert out["label"].dtype == want.dtype and out["label"].shape == want.shape
    np.testing.assert_array_equal(out["label"], want)
    assert_close(out["probabilities"], est.predict_proba(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["binary", "strings", "multilabel"])
def test_zipmap(kind, dtype):
    X = data(dtype, 80)
    est = fitted(fastbp.MLPClassifier((5,), max_iter=30, random_state=0), X,
                 classification_targets(kind, X))  # fmt: skip
    proba, labels = est.predict_proba(X), labels_as_onnx_gives_them(est.predict(X))
    keys = est.classes_.tolist()

    out = run(fastbp.to_onnx(est, X[:1]), X)  # zipmap=True: skl2onnx's default
    assert list(out) == ["output_label", "output_probability"]
    np.testing.assert_array_equal(out["output_label"], labels)
    rows = out["output_probability"]
    assert len(rows) == X.shape[0] and all(list(row) == keys for row in rows)
    # ONNX's ZipMap takes float only: the zipped probabilities are float in any graph
    zipped = np.array([[row[k] for k in keys] for row in rows])
    np.testing.assert_allclose(zipped, proba, rtol=RTOL[np.float32])

    out = run(fastbp.to_onnx(est, X[:1], options={"zipmap": "columns"}), X)
    prefix = "s" if kind == "strings" else "i"
    assert list(out) == ["output_label"] + [f"{prefix}{k}" for k in keys]
    np.testing.assert_array_equal(out["output_label"], labels)
    assert_close(np.column_stack([out[f"{prefix}{k}"] for k in keys]), proba, dtype)


def test_nocl_and_output_class_labels():
    X = data(np.float64, 80)
    y = classification_targets("strings", X)
    est = fitted(fastbp.MLPClassifier((5,), max_iter=30, random_state=0), X, y)
    out = run(fastbp.to_onnx(est, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(out["label"], np.searchsorted(est.classes_, est.predict(X)))
    options = {"zipmap": False, "output_class_labels": True}
    out = run(fastbp.to_onnx(est, X[:1], options=options), X)
    np.testing.assert_array_equal(out["class_labels"], est.classes_.astype(object))


def test_the_weights_a_user_assigned_are_exported():
    X = data(np.float64)
    est = fitted(fastbp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0),
                 X, 3 + X[:, 0])  # fmt: skip
    est.coefs_ = [2.0 * c for c in est.coefs_]  # copied into the network before use
    assert_close(run(fastbp.to_onnx(est, X[:1]), X)["variable"].ravel(), est.predict(X),
                 np.float64)  # fmt: skip


def test_float_graph_of_a_float64_model():
    # the graph computes in the input's dtype: float32 rounding of a float64 model
    X = data(np.float64)
    est = fitted(fastbp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0),
                 X, 3 + X[:, 0])  # fmt: skip
    out = run(fastbp.to_onnx(est, X[:1].astype(np.float32)), X.astype(np.float32))["variable"]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), est.predict(X), rtol=1e-5)


@pytest.mark.parametrize("opset", [13, None])
def test_target_opsets(opset):
    X = data(np.float64)
    est = fitted(fastbp.MLPClassifier((5,), activation="softplus", max_iter=20, random_state=0),
                 X, classification_targets("multilabel", X))  # fmt: skip
    onx = fastbp.to_onnx(est, X[:1], options={"zipmap": False}, target_opset=opset)
    out = run(onx, X)
    assert_close(out["probabilities"], est.predict_proba(X), np.float64)


# -------------------------------------------------------------- in pipelines ----


@pytest.mark.parametrize("dtype", DTYPES)
def test_pipeline_with_a_scaler(dtype):
    X = (data(dtype, 80) * np.array([1, 10, 100, 0.1]) + 5).astype(dtype)
    y = classification_targets("strings", (X - 5) / np.array([1, 10, 100, 0.1]))
    clf = make_pipeline(StandardScaler(), fastbp.MLPClassifier((6,), max_iter=40, random_state=0))
    fitted(clf, X, y)
    out = run(fastbp.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X).astype(object))
    assert_close(out["probabilities"], clf.predict_proba(X), dtype)

    mlp = fastbp.MLPRegressor(hidden_layer_sizes=(6,), max_iter=40, random_state=0)
    reg = make_pipeline(StandardScaler(), mlp)
    fitted(reg, X, 3 + X[:, :2] @ np.array([1.0, 0.1], dtype=dtype))
    out = run(fastbp.to_onnx(reg, X[:1]), X)
    assert_close(out["variable"].ravel(), reg.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pipeline_with_a_column_transformer(dtype):
    pd = pytest.importorskip("pandas")
    X = data(dtype, 90)
    frame = pd.DataFrame({"a": X[:, 0] * 10, "b": X[:, 1] + 3,
                          "c": np.array(["x", "y", "z"])[np.arange(90) % 3]})  # fmt: skip
    y = (X[:, 0] + (np.arange(90) % 3 == 1) > 0).astype(int)
    columns = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                                 ("cat", OneHotEncoder(), ["c"])])  # fmt: skip
    model = make_pipeline(columns, fastbp.MLPClassifier((5,), max_iter=40, random_state=0))
    fitted(model, frame, y)
    out = run(
        fastbp.to_onnx(model, frame[:1], options={"zipmap": False}),
        {name: frame[[name]].to_numpy() for name in frame.columns},
    )
    np.testing.assert_array_equal(out["label"], model.predict(frame))
    assert_close(out["probabilities"], model.predict_proba(frame), dtype)


def test_skl2onnx_converts_fastbp_models_once_registered():
    from skl2onnx.common.data_types import DoubleTensorType

    fastbp.register_onnx_converters()
    fastbp.register_onnx_converters()  # (twice: nothing changes)
    X = data(np.float64)
    mlp = fastbp.MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    reg = make_pipeline(StandardScaler(), mlp)
    fitted(reg, X, 3 + X[:, :2])
    out = run(skl2onnx.to_onnx(reg, X[:1]), X)
    assert_close(out["variable"], reg.predict(X), np.float64)
    clf = fitted(fastbp.MLPClassifier((5,), max_iter=20, random_state=0), X,
                 classification_targets("multiclass", X))  # fmt: skip
    onx = skl2onnx.convert_sklearn(clf, initial_types=[("X", DoubleTensorType([None, 4]))],
                                   options={id(clf): {"zipmap": False}})  # fmt: skip
    out = run(onx, X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    assert_close(out["probabilities"], clf.predict_proba(X), np.float64)
    net = fastbp.Network([4, 3, 2], "leaky_relu", "softmax", random_state=0)
    assert_close(run(skl2onnx.to_onnx(net, X[:1]), X)["variable"], net.forward(X), np.float64)


# -------------------------------------------------------------------- errors ----


def test_errors():
    X = data(np.float64)
    with pytest.raises(NotFittedError):
        fastbp.to_onnx(fastbp.MLPRegressor(), X[:1])
    with pytest.raises(NotFittedError):
        fastbp.to_onnx(make_pipeline(StandardScaler(), fastbp.MLPClassifier()), X[:1])
    with pytest.raises(TypeError, match="collections.OrderedDict"):
        from collections import OrderedDict

        fastbp.to_onnx(OrderedDict(), X[:1])
    est = fitted(fastbp.MLPClassifier((3,), max_iter=5, random_state=0), X, X[:, 0] > 0)
    est.classes_ = np.array([0.5, 1.5])  # (scikit-learn's checks refuse such targets)
    with pytest.raises(ValueError, match="integers or strings"):
        fastbp.to_onnx(est, X[:1], options={"zipmap": False})


def test_onnx_is_imported_only_when_used():
    code = (
        "import sys, fastbp\n"
        "print(sorted(m for m in ('onnx', 'skl2onnx', 'onnxruntime') if m in sys.modules))\n"
        "sys.modules['skl2onnx'] = None  # as if not installed\n"
        "try:\n"
        "    fastbp.register_onnx_converters()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout  # fmt: skip
    assert out.splitlines()[0] == "[]"
    assert 'pip install "fastbp[onnx]"' in out
