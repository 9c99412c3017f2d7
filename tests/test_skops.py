"""skops.io files of fastbp models: the only types skops does not trust are fastbp's
own classes, the ones the README lists; trusting them loads a model that predicts
and trains on bit for bit as the saved one."""

import pathlib
import warnings

import numpy as np
import pytest

sio = pytest.importorskip("skops.io")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastbp  # noqa: E402

import helpers  # noqa: E402

# the types to trust, as the README's "Deploying" section lists them
FASTBP_TYPES = [
    "fastbp._solvers.StochasticOptimizer",
    "fastbp.ensemble.EnsembleClassifier",
    "fastbp.ensemble.EnsembleRegressor",
    "fastbp.estimators.MLPClassifier",
    "fastbp.estimators.MLPRegressor",
    "fastbp.network.Network",
]
README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def data(n=60):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 4))
    return X, X[:, 0] - X[:, 1] > 0


def fitted(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def round_trip(model, tmp_path):
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(FASTBP_TYPES), untrusted
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)
    return sio.load(path, trusted=untrusted), untrusted


MODELS = {
    "adam regressor": (fastbp.MLPRegressor, dict(random_state=0)),
    "float32 sgd regressor, 2 outputs": (
        fastbp.MLPRegressor,
        dict(solver="sgd", activation="softplus", random_state=np.random.RandomState(1)),
    ),
    "lbfgs classifier": (fastbp.MLPClassifier, dict(solver="lbfgs")),
    "early stopping, strings, class weights": (
        fastbp.MLPClassifier,
        dict(early_stopping=True, random_state=0, class_weight={"no": 1, "yes": 2}),
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_load_and_go_on_as_saved(name, tmp_path):
    X, y = data()
    if "2 outputs" in name:
        X, y = X.astype(np.float32), np.column_stack([X[:, 0], X[:, 1] * X[:, 2]])
    if "strings" in name:
        y = np.where(y, "yes", "no")
    cls, params = MODELS[name]
    model = fitted(cls(hidden_layer_sizes=(5, 3), max_iter=5, **params), X, y)
    loaded, untrusted = round_trip(model, tmp_path)
    assert "fastbp.network.Network" in untrusted
    assert type(loaded) is type(model)
    helpers.assert_same_state(loaded, helpers.model_state(model), "loaded")
    assert loaded.predict(X).tobytes() == model.predict(X).tobytes()
    # training goes on bit for bit (the optimizer's state, the early-stopping state)
    for est in (model, loaded):
        if est.solver == "lbfgs" or est.early_stopping:
            fitted(est.set_params(warm_start=True, max_iter=3), X, y)
        else:
            est.partial_fit(X, y)
    helpers.assert_same_state(loaded, helpers.model_state(model), "continued")


def test_network_and_pipeline(tmp_path):
    X, y = data()
    net = fastbp.Network([4, 3, 2], "leaky_relu", "softmax", np.float32, random_state=0)
    loaded, untrusted = round_trip(net, tmp_path)
    assert untrusted == ["fastbp.network.Network"]
    assert loaded.params.tobytes() == net.params.tobytes()
    assert loaded.forward(X).tobytes() == net.forward(X).tobytes()

    pipe = make_pipeline(StandardScaler(), fastbp.MLPClassifier((4,), max_iter=5, random_state=0))
    loaded, untrusted = round_trip(fitted(pipe, X, y), tmp_path)
    assert sorted(untrusted) == sorted(
        ["fastbp._solvers.StochasticOptimizer", "fastbp.estimators.MLPClassifier",
         "fastbp.network.Network"]
    )  # fmt: skip
    assert loaded.predict_proba(X).tobytes() == pipe.predict_proba(X).tobytes()


def test_the_readme_lists_the_types_to_trust():
    text = README.read_text()
    for name in FASTBP_TYPES:
        assert f"`{name}`" in text


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_ensembles(kind, tmp_path):
    X, y = data()
    if kind == "regressor":
        ens = fastbp.EnsembleRegressor(
            fastbp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=4), n_estimators=3
        )
        y = X[:, 0] - X[:, 1]
    else:
        ens = fastbp.EnsembleClassifier(fastbp.MLPClassifier((3,), max_iter=4), n_estimators=3)
    fitted(ens.set_params(random_state=0), X, y)
    loaded, untrusted = round_trip(ens, tmp_path)
    assert f"fastbp.ensemble.Ensemble{kind.capitalize()}" in untrusted
    assert loaded.predict(X).tobytes() == ens.predict(X).tobytes()
    for a, b in zip(loaded.estimators_, ens.estimators_):
        helpers.assert_same_state(a, helpers.model_state(b), "member")
