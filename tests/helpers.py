"""Helpers shared by the tests: comparing models, the machine's BLAS threads, calling
the kernels."""

import os

import numpy as np
import pytest

MISSING = "<missing>"

# The fitted attributes that are numbers or lists of numbers.
_SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
            "_no_improvement_count", "n_outputs_", "n_layers_", "out_activation_",
            "n_features_in_")  # fmt: skip
_LISTS = ("loss_curve_", "validation_scores_")


def model_state(est):
    """Everything a fit leaves in an estimator, as plain values: the fitted
    attributes, the weights, the best weights kept for early stopping, the
    optimizer's state and scalars, and the state of the generator it drew from."""
    state = {name: getattr(est, name, MISSING) for name in _SCALARS}
    for name in _LISTS:
        value = getattr(est, name, MISSING)
        state[name] = list(value) if isinstance(value, list) else value
    if hasattr(est, "coefs_"):
        state["coefs_"] = [np.array(a) for a in est.coefs_]
        state["intercepts_"] = [np.array(a) for a in est.intercepts_]
    best = getattr(est, "_best_params", None)
    state["_best_params"] = None if best is None else np.array(best)
    optimizer = getattr(est, "_optimizer", None)
    if optimizer is not None:
        fields = dict(vars(optimizer))
        state["optimizer.state"] = np.array(fields.pop("state"))
        state.update({f"optimizer.{k}": v for k, v in fields.items()})
    rng = getattr(est, "_random_state", None)
    if isinstance(rng, np.random.RandomState):
        state["random_state"] = rng.get_state(legacy=False)
    classes = getattr(est, "classes_", None)
    state["classes_"] = None if classes is None else np.array(classes)
    return state


def _same(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)  # NaN equals NaN here
    return type(a) is type(b) and a == b


def state_differences(a, b):
    """The names of the entries of two ``model_state`` dicts that differ, bit for bit."""
    return sorted(k for k in a.keys() | b.keys() if not _same(a.get(k, MISSING), b.get(k, MISSING)))


def assert_same_state(est, expected, what):
    """``est`` holds exactly ``expected`` (a ``model_state``), bit for bit."""
    differ = state_differences(model_state(est), expected)
    assert not differ, f"{what}: differs in {differ}"


# ------------------------------------------------------------- calling the kernels ----


def epoch_groups(net, X, Y, weights, rows, batch, state, solver=0, alpha=0.0, momentum=0.9,
                 loss=0, scale=1.0, lr=0.01, nesterov=True):  # fmt: skip
    """The arguments of the epoch kernels (``fastbp._kernels.protocol``) to train Network
    ``net`` on X's rows ``rows`` in batches of ``batch``, with optimizer buffers ``state``
    (rows: the moments) and codes ``solver`` (SGD) and ``loss`` (squared_error)."""
    from fastbp._kernels import protocol

    return (
        protocol.data(X, net.dtype),
        protocol.targets(Y, weights),
        np.asarray(rows, np.int64),
        net._net,
        protocol.work(net.layer_sizes, batch, net.dtype),
        protocol.loss(loss, alpha, scale),
        protocol.moments(state),
        protocol.step(solver, lr, momentum, nesterov),
    )


def pick_epoch_kernel(sizes, batch, hidden, out, loss, plain_sgd):
    """The epoch kernel a network of ``sizes`` with these activation and loss codes
    trains with in batches of ``batch`` (``Network._epoch_kernel``)."""
    from fastbp import Network
    from fastbp._tables import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

    names = {code: name for name, code in HIDDEN_ACTIVATIONS.items()}
    outputs = {code: name for name, code in OUTPUT_ACTIVATIONS.items()}
    net = Network(sizes, names[hidden], outputs[out])
    return net._epoch_kernel(batch, loss, plain_sgd)


# ------------------------------------------------------------- comparing models ----


def assert_same_model(
    ours,
    theirs,
    X=None,
    rtol=1e-9,
    atol=None,
    *,
    fitted=False,
    dtypes=False,
    predict_atol=None,
    agreement=None,
):
    """Two fitted MLP estimators (fastbp's and scikit-learn's, or two of fastbp's) hold
    the same weights, to ``rtol`` (and ``atol``, by default rtol * 1e-3); with
    ``dtypes``, of the same dtypes; with ``fitted``, the same fitted attributes too
    (iterations, curves, best scores); with X, they predict the same values (to
    ``predict_atol``, by default ``atol``) and class labels (the share
    ``agreement`` of them, by default all when rtol < 1e-6, else 98%)."""
    atol = rtol * 1e-3 if atol is None else atol
    predict_atol = atol if predict_atol is None else predict_atol
    agreement = (1.0 if rtol < 1e-6 else 0.98) if agreement is None else agreement
    if fitted:
        assert ours.n_iter_ == theirs.n_iter_
        assert ours.t_ == theirs.t_
        assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
        assert ours.out_activation_ == theirs.out_activation_
        assert ours.n_features_in_ == theirs.n_features_in_
        np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
        for name in ("loss_curve_", "validation_scores_"):
            if getattr(theirs, name, None) is None:
                assert getattr(ours, name, None) is None
            else:
                np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol)
        for name in ("best_loss_", "best_validation_score_"):
            a, b = getattr(ours, name, None), getattr(theirs, name, None)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=rtol)
    assert len(ours.coefs_) == len(theirs.coefs_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape and (not dtypes or a.dtype == b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    if X is None:
        return
    if hasattr(theirs, "classes_"):
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        np.testing.assert_allclose(
            ours.predict_proba(X), theirs.predict_proba(X), rtol=rtol, atol=atol
        )
        assert (ours.predict(X) == theirs.predict(X)).mean() >= agreement
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=rtol, atol=predict_atol)


# ------------------------------------------------------------------- the machine ----


def needs_two_cpus():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs 2 CPUs to run BLAS on 2 threads")


def blas_threads():
    """The thread counts of the loaded BLAS libraries (numpy's and scipy's)."""
    from threadpoolctl import threadpool_info

    return sorted({d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"})
