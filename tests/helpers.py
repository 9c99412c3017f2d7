"""Helpers shared by the tests."""

import numpy as np

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
