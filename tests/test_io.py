"""fastbp.save / fastbp.load: safe model files.

Round trips predict bit for bit (both dtypes, dense and sparse input) and keep
training; every kind of damaged, altered or foreign file is refused with a
ValueError naming the problem, and nothing in a file is ever unpickled.
"""

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import joblib
import numba
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import fastbp
import fastbp.io as fio
from fastbp import MLPClassifier, MLPRegressor, Network

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning"),
]

DTYPES = [np.float32, np.float64]


def _data(dtype=np.float64, n=40):
    X, y = make_classification(n, 5, n_informative=3, n_classes=3, random_state=0)
    return X.astype(dtype), y


# ------------------------------------------------------------- the models ----


def _regressor_adam(dtype):
    X, y = _data(dtype)
    return MLPRegressor(hidden_layer_sizes=(4, 3), max_iter=4, random_state=0).fit(
        X, y + 0.5 * X[:, 0]
    ), X


def _regressor_poisson_sgd(dtype):
    X, y = _data(dtype)
    est = MLPRegressor("poisson", (4,), solver="sgd", learning_rate="invscaling", max_iter=4)
    return est.set_params(random_state=1).fit(X, y), X


def _regressor_lbfgs_multioutput(dtype):
    X, y = _data(dtype)
    Y = np.column_stack([y, X[:, 1] ** 2])
    return MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=6, random_state=0).fit(
        X, Y
    ), X


def _regressor_early_stopping(dtype):
    X, y = _data(dtype, n=60)
    est = MLPRegressor(
        hidden_layer_sizes=(4,), solver="sgd", early_stopping=True, n_iter_no_change=np.inf
    )
    return est.set_params(max_iter=4, random_state=0, validation_fraction=0.2).fit(X, y), X


def _classifier_binary_str(dtype):
    X, y = _data(dtype)
    return MLPClassifier((4,), max_iter=4, random_state=0).fit(X, np.where(y == 1, "yes", "no")), X


def _classifier_multiclass_int_sgd(dtype):
    X, y = _data(dtype)
    est = MLPClassifier((4, 2), solver="sgd", activation="tanh", momentum=0.5, max_iter=4)
    return est.set_params(random_state=0, class_weight={7: 2, 8: 1, 9: 0.5}).fit(X, y + 7), X


def _classifier_float_classes(dtype):
    X, y = _data(dtype)
    labels = np.array([-1.0, 0.0, 3.0])[y]
    return MLPClassifier((3,), solver="lbfgs", max_iter=5, random_state=0).fit(X, labels), X


def _classifier_bool_classes(dtype):
    X, y = _data(dtype)
    return MLPClassifier((3,), activation="softplus", max_iter=4, random_state=0).fit(X, y == 2), X


def _classifier_multilabel(dtype):
    X, y = _data(dtype)
    Y = np.column_stack([y == 0, y == 1, X[:, 0] > 0]).astype(int)
    return MLPClassifier((4,), activation="leaky_relu", max_iter=4, random_state=0).fit(X, Y), X


def _classifier_feature_names(dtype):
    X, y = _data(dtype)
    df = pd.DataFrame(X, columns=[f"feature {i} \u00e9" for i in range(5)])
    est = MLPClassifier((4,), early_stopping=True, validation_fraction=0.25, max_iter=4)
    return est.set_params(random_state=np.random.RandomState(3)).fit(df, y), df


def _classifier_object_classes(dtype):
    # classes_ of object dtype are stored as JSON values, not as an array.
    est, X = _classifier_binary_str(dtype)
    est.classes_ = est._label_binarizer.classes_ = est.classes_.astype(object)
    return est, X


def _network(dtype):
    X, _ = _data(dtype)
    net = Network([5, 4, 3], "softplus", "softmax", dtype=dtype, random_state=0)
    return net, X


ESTIMATORS = {
    f.__name__[1:]: f
    for f in [
        _regressor_adam,
        _regressor_poisson_sgd,
        _regressor_lbfgs_multioutput,
        _regressor_early_stopping,
        _classifier_binary_str,
        _classifier_multiclass_int_sgd,
        _classifier_float_classes,
        _classifier_bool_classes,
        _classifier_multilabel,
        _classifier_feature_names,
        _classifier_object_classes,
    ]
}
MODELS = {**ESTIMATORS, "network": _network}


def _outputs(model, X):
    """Everything the model computes for X: predict, predict_proba, forward."""
    if isinstance(model, Network):
        return [model.forward(X)]
    out = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        out.append(model.predict_proba(X))
    return out


def _inputs(X):
    if isinstance(X, pd.DataFrame):
        return [X]
    return [X, sp.csr_matrix(X), sp.csc_matrix(X)]


def _assert_same_outputs(a, b, X):
    for data in _inputs(X) if not isinstance(a, Network) else [X]:
        for got, want in zip(_outputs(b, data), _outputs(a, data)):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def _assert_same_params(a, b):
    pa, pb = a.get_params(), b.get_params()
    ra, rb = pa.pop("random_state"), pb.pop("random_state")
    assert pa == pb
    if isinstance(ra, np.random.RandomState):
        np.testing.assert_equal(ra.get_state(), rb.get_state())
    else:
        assert ra == rb


def _round_trip(model, tmp_path, **kw):
    path = tmp_path / "model.npz"
    fastbp.save(model, path, **kw)
    return fastbp.load(path)


# ----------------------------------------------------------- round trips ----


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", MODELS)
def test_loaded_model_predicts_bit_for_bit(case, dtype, tmp_path):
    model, X = MODELS[case](dtype)
    loaded = _round_trip(model, tmp_path)
    assert type(loaded) is type(model)
    _assert_same_outputs(model, loaded, X)


@pytest.mark.parametrize("case", ESTIMATORS)
def test_loaded_estimator_has_the_same_state(case, tmp_path):
    est, X = ESTIMATORS[case](np.float64)
    loaded = _round_trip(est, tmp_path)
    check_is_fitted(loaded)
    _assert_same_params(est, loaded)
    # Every attribute comes back, except the RandomState fit draws from (set
    # again by each fit from random_state).
    assert set(vars(loaded)) == set(vars(est)) - {"_random_state"}
    skip = {"_random_state", "random_state", "coefs_", "intercepts_", "_best_params"}
    skip |= {"_optimizer", "_label_binarizer", "classes_", "feature_names_in_"}
    skip |= {"_network", "_views"}  # the parameter store, compared below
    for name in set(vars(est)) - skip:
        np.testing.assert_equal(getattr(loaded, name), getattr(est, name), err_msg=name)
    assert (
        loaded._network.params.dtype == est._network.params.dtype
        and loaded._network.params.flags.c_contiguous
    )
    assert loaded._network.params.flags.writeable and loaded._network.params.flags.owndata
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, est.coefs_ + est.intercepts_):
        np.testing.assert_array_equal(a, b)
        assert a.shape == b.shape and np.shares_memory(a, loaded._network.params)
    assert loaded._best_params is None  # early stopping's best: the network's own
    assert repr(loaded._network) == repr(est._network)
    if hasattr(est, "feature_names_in_"):
        assert loaded.feature_names_in_.dtype == object
        np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    if hasattr(est, "classes_"):
        assert loaded.classes_.dtype == est.classes_.dtype
        np.testing.assert_array_equal(loaded.classes_, est.classes_)
        assert loaded.classes_ is loaded._label_binarizer.classes_
        lb, lb0 = vars(loaded._label_binarizer), vars(est._label_binarizer)
        assert set(lb) == set(lb0)
        assert all(np.array_equal(lb[k], lb0[k]) for k in lb)
    if hasattr(est, "_optimizer"):
        opt, opt0 = vars(loaded._optimizer), vars(est._optimizer)
        assert set(opt) == set(opt0)
        np.testing.assert_array_equal(opt.pop("state"), opt0.pop("state"))
        assert opt == opt0


def test_loaded_network_has_the_same_state(tmp_path):
    net, X = _network(np.float32)
    loaded = _round_trip(net, tmp_path)
    assert repr(loaded) == repr(net) and loaded.dtype is np.float32
    np.testing.assert_array_equal(loaded.layer_sizes, net.layer_sizes)
    np.testing.assert_array_equal(loaded.params, net.params)
    assert all(np.shares_memory(v, loaded.params) for v in loaded.coefs + loaded.intercepts)
    y = np.eye(3)[np.arange(X.shape[0]) % 3]
    l0, g0 = net.loss_gradient(X, y, loss="log_loss")
    l1, g1 = loaded.loss_gradient(X, y, loss="log_loss")
    assert l0 == l1
    np.testing.assert_array_equal(g0, g1)


@pytest.mark.parametrize(
    "case", ["regressor_adam", "classifier_multiclass_int_sgd", "classifier_multilabel"]
)
def test_partial_fit_continues_exactly_with_the_saved_optimizer(case, tmp_path):
    est, X = ESTIMATORS[case](np.float64)
    loaded = _round_trip(est, tmp_path)
    y = _targets(est, X)
    for _ in range(2):
        est.partial_fit(X, y)
        loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded._network.params, est._network.params)
    np.testing.assert_array_equal(loaded._optimizer.state, est._optimizer.state)
    assert loaded.loss_curve_ == est.loss_curve_ and loaded.t_ == est.t_
    _assert_same_outputs(est, loaded, X)


@pytest.mark.parametrize("case", ["regressor_adam", "classifier_multiclass_int_sgd"])
def test_partial_fit_starts_a_fresh_optimizer_without_the_saved_one(case, tmp_path):
    est, X = ESTIMATORS[case](np.float64)
    loaded = _round_trip(est, tmp_path, include_optimizer=False)
    assert not hasattr(loaded, "_optimizer")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as f:
        assert "optimizer_state" not in f.files
    before = loaded._network.params.copy()
    del est._optimizer  # what the loaded model lacks: both start a fresh optimizer
    y = _targets(est, X)
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert hasattr(loaded, "_optimizer") and not np.array_equal(loaded._network.params, before)
    np.testing.assert_array_equal(loaded._network.params, est._network.params)
    assert all(
        np.shares_memory(v, loaded._network.params) for v in loaded.coefs_ + loaded.intercepts_
    )


@pytest.mark.parametrize(
    "case",
    [
        "regressor_adam",
        "regressor_early_stopping",
        "classifier_float_classes",
        "classifier_feature_names",
    ],
)
def test_warm_start_fit_continues_exactly(case, tmp_path):
    est, X = ESTIMATORS[case](np.float64)
    loaded = _round_trip(est, tmp_path)
    y = _targets(est, X)
    for model in (est, loaded):
        model.set_params(warm_start=True, max_iter=3).fit(X, y)
    np.testing.assert_array_equal(loaded._network.params, est._network.params)
    assert loaded.n_iter_ == est.n_iter_
    np.testing.assert_equal(getattr(loaded, "loss_curve_", None), getattr(est, "loss_curve_", None))
    _assert_same_outputs(est, loaded, X)


def _targets(est, X):
    """The targets the case was fitted on, recomputed from its classes."""
    _, y = _data(np.float64, n=X.shape[0])
    if isinstance(est, MLPRegressor):
        return y + 0.5 * np.asarray(X)[:, 0]
    if est._label_binarizer.y_type_ == "multilabel-indicator":
        X = np.asarray(X)
        return np.column_stack([y == 0, y == 1, X[:, 0] > 0]).astype(int)
    return est.classes_[y % len(est.classes_)]


@pytest.mark.parametrize("case", ["regressor_adam", "classifier_binary_str", "network"])
def test_pickle_and_joblib_still_work(case, tmp_path):
    model, X = MODELS[case](np.float64)
    for original in (model, _round_trip(model, tmp_path)):
        again = pickle.loads(pickle.dumps(original))
        _assert_same_outputs(original, again, X)
        joblib.dump(original, tmp_path / "model.joblib")
        _assert_same_outputs(original, joblib.load(tmp_path / "model.joblib"), X)


# -------------------------------------------------------- the file itself ----


def test_file_is_a_plain_npz_with_json_metadata(tmp_path):
    est, _ = _classifier_feature_names(np.float32)
    fastbp.save(est, tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    assert set(arrays) == {"metadata", "params", "classes", "optimizer_state", "random_state_keys"}
    assert all(a.dtype != object for a in arrays.values())
    assert arrays["params"].dtype == np.float32 and arrays["metadata"].dtype == np.uint8

    def strict(c):
        raise AssertionError(c)

    meta = json.loads(arrays["metadata"].tobytes().decode("utf-8"), parse_constant=strict)
    assert meta["format"] == "fastbp-model" and meta["format_version"] == 1
    assert meta["fastbp_version"] == fastbp.__version__ and meta["kind"] == "MLPClassifier"
    assert meta["layer_sizes"] == [5, 4, 3] and meta["dtype"] == "float32"
    assert meta["activation"] == "relu" and meta["output_activation"] == "softmax"
    assert meta["loss"] == "log_loss"
    assert meta["hyperparameters"]["hidden_layer_sizes"] == {"tuple": [4]}
    attrs = meta["attributes"]
    assert attrs["feature_names_in_"] == list(est.feature_names_in_)
    assert attrs["best_loss_"] is None and attrs["validation_scores_"] == est.validation_scores_
    assert attrs["n_iter_"] == est.n_iter_ and attrs["t_"] == est.t_
    assert meta["label_binarizer"]["classes_"] == "array"
    assert meta["label_binarizer"]["y_type_"] == "multiclass"


def test_non_finite_values_are_tagged_not_bare(tmp_path):
    est, _ = _regressor_early_stopping(np.float64)  # n_iter_no_change = inf
    est.best_validation_score_ = -np.inf
    fastbp.save(est, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        text = f["metadata"].tobytes().decode()
    assert "Infinity" not in text and "NaN" not in text
    meta = json.loads(text)
    assert meta["hyperparameters"]["n_iter_no_change"] == {"float": "inf"}
    loaded = fastbp.load(tmp_path / "m.npz")
    assert loaded.n_iter_no_change == np.inf and loaded.best_validation_score_ == -np.inf


@pytest.mark.parametrize("as_path", [str, os.fsencode, lambda p: p], ids=["str", "bytes", "Path"])
def test_save_writes_exactly_the_path_given(as_path, tmp_path):
    net, X = _network(np.float64)
    target = tmp_path / "model.bin"
    fastbp.save(net, as_path(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
    np.testing.assert_array_equal(fastbp.load(as_path(target)).forward(X), net.forward(X))
    target.write_bytes(b"old contents")  # an existing file is replaced
    fastbp.save(net, as_path(target))
    np.testing.assert_array_equal(fastbp.load(as_path(target)).forward(X), net.forward(X))


def test_save_refuses_what_it_cannot_store(tmp_path):
    path = tmp_path / "m.npz"
    with pytest.raises(NotFittedError):
        fastbp.save(MLPClassifier(), path)
    with pytest.raises(TypeError, match="MLPRegressor"):
        fastbp.save({"coefs": [1.0]}, path)
    net, _ = _network(np.float64)
    net.params[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fastbp.save(net, path)
    est, _ = _regressor_adam(np.float64)
    est.set_params(hidden_layer_sizes=(object(),))
    with pytest.raises(ValueError, match="cannot store hidden_layer_sizes"):
        fastbp.save(est, path)
    assert not path.exists()  # nothing half-written


def test_load_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastbp.load(tmp_path / "nope.npz")


def test_big_endian_parameters_from_another_machine_load(tmp_path):
    est, X = _classifier_binary_str(np.float64)
    fastbp.save(est, tmp_path / "m.npz")
    _rewrite(
        tmp_path / "m.npz", tmp_path / "be.npz", arrays=_set("params", lambda a: a.astype(">f8"))
    )
    loaded = fastbp.load(tmp_path / "be.npz")
    assert loaded._network.params.dtype == np.float64 and loaded._network.params.dtype.isnative
    _assert_same_outputs(est, loaded, X)


# --------------------------------------------------------------- attacks ----


class Payload:
    """Unpickling this makes a directory: proof that something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _pickled(marker):
    return np.array([Payload(marker)], dtype=object)


def _rewrite(src, dst, meta=None, arrays=None, raw_metadata=None):
    """Copy model file ``src`` to ``dst``, editing its JSON and/or arrays."""
    with np.load(src, allow_pickle=False) as f:
        content = {k: f[k] for k in f.files}
    data = json.loads(content["metadata"].tobytes().decode())
    if meta is not None:
        meta(data)
    text = json.dumps(data) if raw_metadata is None else raw_metadata(json.dumps(data))
    content["metadata"] = np.frombuffer(text.encode("utf-8", "surrogateescape"), np.uint8)
    if arrays is not None:
        arrays(content)
    with open(dst, "wb") as f:
        np.savez_compressed(f, **content)


def _set(name, fn):
    def edit(arrays):
        arrays[name] = fn(arrays[name])

    return edit


def _put(path, value):
    """Set meta[path[0]][path[1]]... = value, or delete it if value is DELETE."""

    def edit(meta):
        *parents, last = path
        for p in parents:
            meta = meta[p]
        if value is DELETE:
            del meta[last]
        else:
            meta[last] = value

    return edit


DELETE = object()

# (id, source model, JSON edit, array edit, expected message)
# fmt: off
TAMPERED = [
    # -- format and kind
    ("format-name", "clf", _put(["format"], "numpy-model"), None, "not 'fastbp-model'"),
    ("format-missing", "clf", _put(["format"], DELETE), None, "format is None"),
    ("format-version-2", "clf", _put(["format_version"], 2), None, "format_version 2"),
    ("format-version-str", "clf", _put(["format_version"], "1"), None, "format_version '1'"),
    ("format-version-bool", "clf", _put(["format_version"], True), None, "format_version True"),
    ("kind-unknown", "clf", _put(["kind"], "os.system"), None, "unknown model kind"),
    ("kind-swapped", "clf", _put(["kind"], "MLPRegressor"), None, "unexpected field"),
    ("kind-network", "reg", _put(["kind"], "Network"), None, "unexpected field"),
    # -- names
    ("activation-unknown", "clf", _put(["hyperparameters", "activation"], "evil"), None,
     "invalid hyperparameters.*activation"),
    ("activation-mismatch", "clf", _put(["activation"], "tanh"), None, "does not match"),
    ("network-activation-unknown", "net", _put(["activation"], "evil"), None,
     "unknown activation 'evil'"),
    ("network-output-unknown", "net", _put(["output_activation"], "evil"), None,
     "unknown output_activation 'evil'"),
    ("out-activation-unknown", "clf", _put(["attributes", "out_activation_"], "evil"), None,
     "unknown out_activation_"),
    ("out-activation-wrong", "clf", _put(["attributes", "out_activation_"], "logistic"), None,
     "does not match"),
    ("loss-unknown", "clf", _put(["loss"], "hinge"), None, "unknown loss 'hinge'"),
    ("loss-mismatch", "clf", _put(["loss"], "squared_error"), None, "does not match"),
    ("regressor-loss-unknown", "reg", _put(["hyperparameters", "loss"], "hinge"), None,
     "invalid hyperparameters.*loss"),
    # -- layer sizes and dtype against the arrays
    ("sizes-mismatch", "clf", _put(["layer_sizes"], [5, 5, 3]), None, "need 48 parameters"),
    ("sizes-too-few", "clf", _put(["layer_sizes"], [5]), None, "at least two integers"),
    ("sizes-zero", "clf", _put(["layer_sizes"], [5, 0, 3]), None, "at least two integers"),
    ("sizes-str", "clf", _put(["layer_sizes"], ["5", 4, 3]), None, "at least two integers"),
    ("sizes-float", "clf", _put(["layer_sizes"], [5, 4.0, 3]), None, "at least two integers"),
    ("sizes-not-list", "clf", _put(["layer_sizes"], "5,4,3"), None, "at least two integers"),
    ("sizes-huge", "clf", _put(["layer_sizes"], [5, 10**30, 3]), None, "need .* parameters"),
    ("network-sizes-mismatch", "net", _put(["layer_sizes"], [5, 3, 3]), None, "need 30"),
    ("n-features-mismatch", "clf", _put(["attributes", "n_features_in_"], 6), None,
     "layer_sizes .* imply 5"),
    ("n-outputs-mismatch", "reg", _put(["attributes", "n_outputs_"], 2), None, "imply 1"),
    ("dtype-mismatch", "clf", _put(["dtype"], "float32"), None, "must hold float32"),
    ("dtype-int", "clf", _put(["dtype"], "int64"), None, "dtype must be"),
    ("dtype-object", "net", _put(["dtype"], "object"), None, "dtype must be"),
    # -- missing and extra fields
    ("missing-layer-sizes", "clf", _put(["layer_sizes"], DELETE), None, "missing 'layer_sizes'"),
    ("missing-hyperparameters", "clf", _put(["hyperparameters"], DELETE), None,
     "missing 'hyperparameters'"),
    ("missing-hyperparameter", "clf", _put(["hyperparameters", "alpha"], DELETE), None,
     r"missing \['alpha'\]"),
    ("missing-attribute", "clf", _put(["attributes", "n_iter_"], DELETE), None,
     "missing 'n_iter_'"),
    ("missing-label-binarizer", "clf", _put(["label_binarizer"], DELETE), None,
     "missing 'label_binarizer'"),
    ("missing-y-type", "clf", _put(["label_binarizer", "y_type_"], DELETE), None,
     "missing 'y_type_'"),
    ("extra-field", "clf", _put(["exec"], "import os"), None, "unexpected field.*'exec'"),
    ("extra-attribute", "clf", _put(["attributes", "__class__"], "x"), None,
     "unexpected field.*__class__"),
    ("extra-hyperparameter", "clf", _put(["hyperparameters", "evil"], 1), None,
     r"unknown \['evil'\]"),
    ("extra-network-field", "net", _put(["hyperparameters"], {}), None, "unexpected field"),
    # -- values
    ("alpha-negative", "clf", _put(["hyperparameters", "alpha"], -1.0), None, "alpha"),
    ("solver-unknown", "clf", _put(["hyperparameters", "solver"], "evil"), None, "solver"),
    ("unknown-tag", "clf", _put(["hyperparameters", "hidden_layer_sizes"], {"eval": "1"}), None,
     "unknown JSON object"),
    ("bad-float-tag", "clf", _put(["hyperparameters", "tol"], {"float": "1e999"}), None,
     "is not a float"),
    ("n-iter-str", "clf", _put(["attributes", "n_iter_"], "5"), None, "n_iter_ must be an integer"),
    ("t-negative", "clf", _put(["attributes", "t_"], -1), None, "t_ must be an integer >= 0"),
    ("loss-curve-str", "clf", _put(["attributes", "loss_curve_"], "abc"), None, "loss_curve_"),
    ("feature-names-count", "clf", _put(["attributes", "feature_names_in_"], ["a"]), None,
     "1 feature names for 5 features"),
    ("feature-names-type", "clf", _put(["attributes", "feature_names_in_"], [1, 2, 3, 4, 5]),
     None, "list of strings"),
    ("y-type-unknown", "clf", _put(["label_binarizer", "y_type_"], "continuous"), None,
     "unknown label type"),
    ("y-type-binary", "clf", _put(["label_binarizer", "y_type_"], "binary"), None,
     "do not fit a network"),
    ("labels-swapped", "clf", _put(["label_binarizer", "neg_label"], 1), None,
     "impossible label values"),
    ("classes-json-list", "clf", _put(["label_binarizer", "classes_"], ["a", "b", "c"]), None,
     r"unexpected array\(s\) \['classes'\]"),
    ("classes-json-bad", "clf", _put(["label_binarizer", "classes_"], 7),
     lambda d: d.pop("classes"), "must be 'array' or a list"),
    ("optimizer-t-negative", "clf", _put(["optimizer", "t"], -3), None, "optimizer.t"),
    ("optimizer-lr-nan", "clf", _put(["optimizer", "learning_rate"], {"float": "nan"}), None,
     "optimizer.learning_rate must be finite"),
    ("optimizer-missing-field", "clf", _put(["optimizer", "beta_1"], DELETE), None,
     "optimizer is missing 'beta_1'"),
    ("optimizer-extra-field", "clf", _put(["optimizer", "__dict__"], {}), None,
     "optimizer has unexpected"),
    ("optimizer-other-solver", "clf", _put(["optimizer", "code"], 0), None, "another solver"),
    ("optimizer-for-lbfgs", "clf", _put(["hyperparameters", "solver"], "lbfgs"), None,
     "solver 'lbfgs' has none"),
    ("random-state-pos", "clf", _put(["hyperparameters", "random_state", "RandomState", "pos"],
     9999), None, "impossible state"),
    # -- arrays
    ("params-int", "clf", None, _set("params", lambda a: a.astype(np.int64)),
     "must hold float64 numbers, got dtype int64"),
    ("params-float16", "clf", None, _set("params", lambda a: a.astype(np.float16)),
     "must hold float64"),
    ("params-complex", "net", None, _set("params", lambda a: a.astype(np.complex64)),
     "must hold float64"),
    ("params-structured", "net", None,
     _set("params", lambda a: np.zeros(a.size, [("x", "<f4"), ("y", "<f4")])), "must hold float64"),
    ("params-nan", "clf", None,
     _set("params", lambda a: np.where(np.arange(a.size) == 3, np.nan, a)), "NaN or infinity"),
    ("params-inf", "net", None, _set("params", lambda a: np.full_like(a, -np.inf)),
     "NaN or infinity"),
    ("params-2d", "clf", None, _set("params", lambda a: a.reshape(-1, 1)), r"has shape \(39, 1\)"),
    ("params-short", "clf", None, _set("params", lambda a: a[:-1]), "need 39 parameters"),
    # params too long: test_oversized_params_are_refused_before_they_are_decompressed
    ("params-missing", "clf", None, lambda d: d.pop("params"), r"missing array\(s\) \['params'\]"),
    ("extra-array", "clf", None, lambda d: d.update(payload=np.arange(3)),
     r"unexpected array\(s\) \['payload'\]"),
    ("classes-2d", "clf", None, _set("classes", lambda a: a.reshape(1, -1)), "1-D array of labels"),
    ("classes-repeated", "clf", None, _set("classes", lambda a: np.array(["a", "a", "b"])),
     "distinct labels"),
    ("classes-too-few", "clf", None, _set("classes", lambda a: a[:2]), "do not fit a network"),
    ("optimizer-state-nan", "clf", None, _set("optimizer_state", lambda a: a * np.nan),
     "'optimizer_state' contains NaN"),
    ("optimizer-state-shape", "clf", None, _set("optimizer_state", lambda a: a[:1]),
     "'optimizer_state' must have shape"),
    ("random-state-keys-dtype", "clf", None,
     _set("random_state_keys", lambda a: a.astype(np.float64)), "random_state_keys must be uint32"),
    ("metadata-float", "clf", None, _set("metadata", lambda a: a.astype(np.float64)),
     "1-D uint8 array"),
    ("metadata-2d", "clf", None, _set("metadata", lambda a: a.reshape(1, -1)), "1-D uint8 array"),
]

RAW_METADATA = [
    ("not-utf8", lambda t: "\udcff\udcfe" + t, "not valid UTF-8 JSON"),
    ("not-json", lambda t: t[:-5], "not valid UTF-8 JSON"),
    ("json-list", lambda t: "[" + t + "]", "must be a JSON object, got list"),
    ("json-nan", lambda t: t.replace('"t_":', '"t_":NaN,"x":', 1), "does not allow"),
    ("json-repeated-key", lambda t: t.replace("{", '{"format":"fastbp-model",', 1), "repeats"),
    ("json-deep", lambda t: t.replace('"tol":', '"tol":' + "[" * 10**5 + "]" * 10**5 + ',"x":', 1),
     "not valid UTF-8 JSON|nested"),
]
# fmt: on


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Real model files to damage: a classifier with every optional array, a
    regressor and a Network."""
    d = tmp_path_factory.mktemp("sources")
    X, y = _data(np.float64)
    clf = MLPClassifier((4,), max_iter=3, random_state=np.random.RandomState(0))
    clf.fit(pd.DataFrame(X, columns=list("abcde")), np.array(["x", "y", "z"])[y])
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", max_iter=3, random_state=0).fit(X, y)
    net = Network([5, 3, 2], "tanh", "identity", random_state=0)
    paths = {}
    for name, model in [("clf", clf), ("reg", reg), ("net", net)]:
        paths[name] = d / f"{name}.npz"
        fastbp.save(model, paths[name])
        fastbp.load(paths[name])  # the untouched files load
    return paths


@pytest.mark.parametrize(
    "source, meta, arrays, match", [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED]
)
def test_tampered_file_is_refused(source, meta, arrays, match, sources, tmp_path):
    path = tmp_path / "tampered.npz"
    _rewrite(sources[source], path, meta=meta, arrays=arrays)
    with pytest.raises(ValueError, match=match) as info:
        fastbp.load(path)
    assert "tampered.npz" in str(info.value)


@pytest.mark.parametrize(
    "edit, match", [t[1:] for t in RAW_METADATA], ids=[t[0] for t in RAW_METADATA]
)
def test_tampered_metadata_text_is_refused(edit, match, sources, tmp_path):
    path = tmp_path / "tampered.npz"
    _rewrite(sources["clf"], path, raw_metadata=edit)
    with pytest.raises(ValueError, match=match):
        fastbp.load(path)


def _zip_with(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _flip_middle(data):
    out = bytearray(data)
    out[len(out) // 2] ^= 0xFF
    return bytes(out)


def _model_with(real, **arrays):
    with np.load(io.BytesIO(real), allow_pickle=False) as f:
        content = {k: f[k] for k in f.files}
    content.update(arrays)
    return _npz(**content)


# (id, bytes of the file from (the real classifier file's bytes, marker path), message)
# fmt: off
CORRUPT = [
    ("random-bytes", lambda real, m: np.random.default_rng(0).bytes(4096),
     r"not an .npz \(zip\) archive"),
    ("empty-file", lambda real, m: b"", "is empty"),
    ("text-file", lambda real, m: b"This is not a model, just some text.\n" * 20,
     r"not an .npz \(zip\) archive"),
    ("truncated-half", lambda real, m: real[: len(real) // 2], "cannot be read as an .npz"),
    ("truncated-last-byte", lambda real, m: real[:-1], "cannot be read as an .npz"),
    ("truncated-header", lambda real, m: real[:10], "cannot be read as an .npz"),
    ("bit-flip", lambda real, m: _flip_middle(real), "cannot be read safely"),
    ("zip-header-only", lambda real, m: b"PK\x03\x04" + b"\0" * 100, "cannot be read as an .npz"),
    ("npy-file", lambda real, m: _npy(np.arange(10.0)), "single .npy array"),
    ("raw-pickle", lambda real, m: pickle.dumps(Payload(m)), r"not an .npz \(zip\) archive"),
    ("npy-pickled-object", lambda real, m: _npy(_pickled(m)), "single .npy array"),
    ("empty-zip", lambda real, m: _zip_with({}), "no 'metadata' array"),
    ("zip-not-npz", lambda real, m: _zip_with({"readme.txt": "hello"}), "not .npy arrays"),
    ("zip-mixed", lambda real, m: _zip_with({"metadata.npy": _npy(np.zeros(3, np.uint8)),
                                           "metadata": "x"}), "not .npy arrays"),
    ("foreign-npz", lambda real, m: _npz(weights=np.ones((3, 3)), bias=np.zeros(3)),
     "no 'metadata' array"),
    ("foreign-npz-pickled", lambda real, m: _npz(x=_pickled(m)), "no 'metadata' array"),
    ("foreign-metadata-pickled", lambda real, m: _npz(metadata=_pickled(m), params=np.ones(3)),
     "cannot be read safely.*allow_pickle"),
    ("model-params-pickled", lambda real, m: _model_with(real, params=_pickled(m)),
     "cannot be read safely.*allow_pickle"),
    ("model-classes-pickled", lambda real, m: _model_with(real, classes=_pickled(m)),
     "cannot be read safely.*allow_pickle"),
    ("model-extra-pickled", lambda real, m: _model_with(real, evil=_pickled(m)),
     "unexpected array"),
]
# fmt: on


@pytest.mark.parametrize("make, match", [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_corrupt_or_foreign_file_is_refused_without_unpickling(make, match, sources, tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "bad.npz"
    path.write_bytes(make(sources["clf"].read_bytes(), marker))
    with pytest.raises(ValueError, match=match):
        fastbp.load(path)
    assert not marker.exists()


def test_the_pickle_payload_is_live(tmp_path):
    # The attack files above are armed: numpy with allow_pickle=True runs the payload.
    marker = tmp_path / "unpickled"
    path = tmp_path / "bad.npz"
    path.write_bytes(_npz(x=_pickled(marker)))
    with np.load(path, allow_pickle=True) as f:
        f["x"]
    assert marker.is_dir()


def _spy_on_member_reads(monkeypatch):
    """Record the name of every zip member opened from now on.

    np.load's NpzFile (and ZipFile.read) reads a member through ZipFile.open,
    where decompression starts: a member not in the list was never decompressed.
    """
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))  # a name or a ZipInfo
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_oversized_metadata_is_refused_before_it_is_decompressed(sources, tmp_path, monkeypatch):
    monkeypatch.setattr(fio, "MAX_METADATA_BYTES", 4096)
    opened = _spy_on_member_reads(monkeypatch)
    fastbp.load(sources["net"])  # small metadata still loads...
    assert {"metadata.npy", "params.npy"} <= set(opened)  # ...and the spy sees the reads
    path = tmp_path / "bomb.npz"
    # 10 MB of valid JSON whitespace: compresses to about 10 kB.
    _rewrite(sources["net"], path, raw_metadata=lambda t: t + " " * 10_000_000)
    assert path.stat().st_size < 100_000
    opened.clear()
    with pytest.raises(ValueError, match="'metadata' is .* bytes uncompressed"):
        fastbp.load(path)
    # Proof that the size was checked first (from the zip directory): the member
    # was never opened, so not decompressed. Reading it, then checking its size,
    # gives the same message but fails here.
    assert "metadata.npy" not in opened


def test_oversized_params_are_refused_before_they_are_decompressed(sources, tmp_path, monkeypatch):
    path = tmp_path / "tampered.npz"
    _rewrite(sources["net"], path, arrays=_set("params", lambda a: np.tile(a, 10_000)))
    opened = _spy_on_member_reads(monkeypatch)
    with pytest.raises(ValueError, match="'params' is .* bytes uncompressed") as info:
        fastbp.load(path)
    assert "tampered.npz" in str(info.value)
    # The metadata was read (the spy sees reads), the too-long params never were:
    # refused from the size in the zip directory, before any decompression.
    assert "metadata.npy" in opened and "params.npy" not in opened


# ------------------------------------------------- files of earlier versions ----

V1 = Path(__file__).resolve().parent / "data" / "model_files_v1"


def same(got, want):
    """Bit for bit; as plain Python (NUMBA_DISABLE_JIT), whose exp, tanh and float32
    arithmetic round otherwise than the compiled kernels', to the dtype's rounding.
    float64 to 1e-12 too: the files were recorded before fastbp's float64 softmax and
    exp took NumPy's exp (SVML's on processors with AVX-512: numpy_math.py), tanh NumPy's and Adam
    Python's powers, both to match scikit-learn to the bit; their last bits moved."""
    dtype = np.asarray(want).dtype
    if dtype.kind != "f" or (dtype == np.float32 and not numba.config.DISABLE_JIT):
        np.testing.assert_array_equal(got, want)
    else:
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", sorted(json.loads((V1 / "index.json").read_text())))
def test_files_written_by_format_version_1_still_load(name):
    """Files fastbp.save wrote (tests/data/model_files_v1/make.py) load, predict what
    they did, and go on training with their saved optimizer as they did."""
    model = fastbp.load(V1 / f"{name}.npz")
    with np.load(V1 / f"{name}.expected.npz", allow_pickle=False) as f:
        expected = {k: f[k] for k in f.files}
    X = expected.pop("X")
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        X = pd.DataFrame(X, columns=names)
    after = expected.pop("params_after_partial_fit", None)
    outputs = _outputs(model, X)
    assert len(outputs) == len(expected)
    for i, got in enumerate(outputs):
        want = expected[f"output{i}"]
        if np.asarray(got).dtype == object:  # recorded as str (make.py)
            got = np.asarray(got).astype(str)
        assert np.asarray(got).dtype == want.dtype
        same(got, want)
    if after is not None:
        y = _targets(model, X)
        if model.loss == "poisson":
            y = _data(np.float64, n=X.shape[0])[1]
        model.partial_fit(X, y)
        same(np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_]), after)
