"""Models that move between fastbp and scikit-learn: ``from_sklearn`` and ``to_sklearn``.

A fitted MLP is its weights, its fitted attributes and, for sgd and adam, the
optimizer's state; both estimators keep the same ones under the same names but
for the weights and the optimizer, which scikit-learn keeps as lists of arrays
(``coefs_``, ``intercepts_``, ``_optimizer.velocities`` or ``ms`` / ``vs``) and fastbp
in one flat buffer each, in scikit-learn's packing order (``_kernels.layout``).
Converting copies every value, so the two models never share memory, and keeps
what decides how training goes on:

- the optimizer: SGD's velocities and current learning rate, Adam's step count and
  moments, so that ``partial_fit`` continues as it would have on the original;
- the stopping rule's state (``_no_improvement_count``, ``best_loss_``,
  ``best_validation_score_``) and the curves, so that a ``warm_start`` fit or
  ``partial_fit`` stops where the original's would;
- early stopping's best weights, or that there are none apart from the model's
  own (scikit-learn's ``_best_coefs`` are then the very arrays of ``coefs_``, and
  fastbp's ``_best_params`` is None: both are trained in place by the next fit);
- the classifier's classes and label binarizer.

The hyperparameters are copied too (deep copies: a ``RandomState`` passed as
``random_state`` is a new generator in the same state, so that both models draw
the same numbers).
"""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMLP
from ._kernels.codes import ADAM, SGD
from ._kernels.layout import coef_view, intercept_view, n_params
from ._solvers import StochasticOptimizer
from .estimators import MLPClassifier, MLPRegressor
from .network import Network

__all__ = ["from_sklearn", "to_sklearn"]

# The hidden activations scikit-learn's MLPs have (fastbp's have two more).
SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
# fastbp's hyperparameters scikit-learn's estimators do not have: ``progress`` only
# shows a bar; ``class_weight`` changes the fit, so a model using it is refused.
FASTBP_ONLY = ("progress", "class_weight")


def _sklearn_classes():
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor

    return {SkRegressor: MLPRegressor, SkClassifier: MLPClassifier}


def _pack(coefs, intercepts, dtype):
    """One flat buffer in fastbp's layout (all coefs, then all intercepts) from lists
    of per-layer arrays; ValueError unless their shapes chain into a network."""
    coefs = [np.asarray(c) for c in coefs]
    intercepts = [np.asarray(b) for b in intercepts]
    if not coefs or len(coefs) != len(intercepts) or any(c.ndim != 2 for c in coefs):
        raise ValueError(
            "the model's coefs_ and intercepts_ must be lists of as many 2-D and 1-D "
            f"arrays, got {len(coefs)} and {len(intercepts)}."
        )
    sizes = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    for i, (c, b) in enumerate(zip(coefs, intercepts)):
        if c.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],):
            raise ValueError(
                f"layer {i}'s coefs_ {c.shape} and intercepts_ {b.shape} do not chain with"
                f" the layers before it (expected {(sizes[i], sizes[i + 1])} and"
                f" {(sizes[i + 1],)})."
            )
    flat = np.empty(n_params(sizes), dtype=dtype)
    for i, (c, b) in enumerate(zip(coefs, intercepts)):
        coef_view(flat, sizes, i)[...] = c
        intercept_view(flat, sizes, i)[...] = b
    return sizes, flat


def _unpack(flat, sizes):
    """Per-layer copies (own memory) of the coefs and intercepts in a flat buffer."""
    n = len(sizes) - 1
    coefs = [coef_view(flat, sizes, i).copy() for i in range(n)]
    intercepts = [intercept_view(flat, sizes, i).copy() for i in range(n)]
    return coefs, intercepts


def _float_dtype(arrays, what):
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{what} must be float32 or float64 arrays, got {dtype}.")
    return dtype


def _plain(value):
    """A fitted attribute as fastbp keeps it: lists copied, numpy scalars as Python's
    (exactly: float(np.float32(x)) is x)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# ------------------------------------------------------------ from scikit-learn ----


def from_sklearn(model):
    """A fastbp estimator from a fitted scikit-learn MLP, ready to go on training.

    Parameters
    ----------
    model : fitted sklearn.neural_network.MLPRegressor or MLPClassifier

    Returns
    -------
    fastbp.MLPRegressor or fastbp.MLPClassifier
        With the same hyperparameters (deep copies), weights, fitted attributes
        (``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``best_loss_``,
        ``validation_scores_``, ``best_validation_score_``, ``classes_``, ...), early
        stopping's best weights and the sgd / adam optimizer's state (velocities or
        moments, step count, learning rate). It predicts what ``model`` does, and
        ``partial_fit`` or a ``warm_start=True`` fit continues as scikit-learn's
        would on ``model``: the same numbers. Nothing is shared with ``model``.

    Notes
    -----
    The fastbp model keeps one dtype, its weights': where scikit-learn keeps the
    optimizer's state in float64 beside float32 weights (a float32 regressor's, whose
    gradients are float64 as its y is), it is rounded to float32, and the model then
    trains in float32 throughout.

    Raises
    ------
    TypeError
        If ``model`` is not one of scikit-learn's MLP estimators.
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If its weights are inconsistent (shapes that do not chain, not float32 or
        float64), or it has hyperparameters fastbp does not know (a newer
        scikit-learn's).
    """
    classes = _sklearn_classes()
    cls = next((ours for theirs, ours in classes.items() if isinstance(model, theirs)), None)
    if cls is None:
        raise TypeError(
            "from_sklearn takes a fitted sklearn.neural_network.MLPRegressor or "
            f"MLPClassifier, got {type(model).__module__}.{type(model).__qualname__}."
        )
    check_is_fitted(model)
    params = model.get_params(deep=False)
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise ValueError(
            f"{type(model).__name__} has hyperparameters fastbp's {cls.__name__} does not:"
            f" {unknown} (a newer scikit-learn than fastbp's parity: see ParityWarning)."
        )
    hyperparameters = copy.deepcopy(params)
    dtype = _float_dtype(list(model.coefs_) + list(model.intercepts_), "coefs_ and intercepts_")
    sizes, flat = _pack(model.coefs_, model.intercepts_, dtype)
    network = Network._from_fitted_state(sizes, model.activation, model.out_activation_, flat)
    attributes = {
        name: _plain(getattr(model, name))
        for name in BaseMLP._FITTED_ATTRIBUTES
        if hasattr(model, name)
    }
    extra = {}
    if cls is MLPClassifier:
        extra["label_binarizer"] = copy.deepcopy(model._label_binarizer)
    optimizer = getattr(model, "_optimizer", None)
    if optimizer is not None:
        extra["optimizer"] = _optimizer_from_sklearn(optimizer, model, sizes, dtype)
    est = cls._from_fitted_state(hyperparameters, network, attributes, **extra)
    if est._output_activation() != model.out_activation_:
        raise ValueError(
            f"out_activation_ {model.out_activation_!r} does not match the"
            f" {cls.__name__}'s {est._output_activation()!r}."
        )
    est._best_params = _best_from_sklearn(model, sizes, dtype)
    return est


def _best_from_sklearn(model, sizes, dtype):
    """fastbp's ``_best_params``: None where scikit-learn's best weights are the model's
    own arrays (after early stopping), else a copy of them."""
    best_coefs = getattr(model, "_best_coefs", None)
    best_intercepts = getattr(model, "_best_intercepts", None)
    if best_coefs is None or best_intercepts is None:
        return None
    own = [*model.coefs_, *model.intercepts_]
    if all(a is b for a, b in zip([*best_coefs, *best_intercepts], own)):
        return None
    best_sizes, flat = _pack(best_coefs, best_intercepts, dtype)
    if best_sizes != sizes:
        raise ValueError("the model's _best_coefs do not have the shapes of its coefs_.")
    return flat


def _optimizer_from_sklearn(optimizer, model, sizes, dtype):
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

    if isinstance(optimizer, SGDOptimizer):
        code, moments = SGD, [optimizer.velocities]
        fields = {
            "learning_rate": float(optimizer.learning_rate),
            "lr_schedule": optimizer.lr_schedule,
            "momentum": optimizer.momentum,
            "nesterov": optimizer.nesterov,
            "power_t": optimizer.power_t,
            # (not SGD's: the estimator's, as fastbp's optimizer keeps them)
            "beta_1": model.beta_1,
            "beta_2": model.beta_2,
            "epsilon": model.epsilon,
            "t": 0,
        }
    elif isinstance(optimizer, AdamOptimizer):
        code, moments = ADAM, [optimizer.ms, optimizer.vs]
        fields = {
            # scikit-learn's is the last step's bias-corrected rate, recomputed at every
            # step from learning_rate_init and t; fastbp's stays learning_rate_init
            "learning_rate": float(optimizer.learning_rate_init),
            "lr_schedule": model.learning_rate,
            "momentum": model.momentum,
            "nesterov": model.nesterovs_momentum,
            "power_t": model.power_t,
            "beta_1": optimizer.beta_1,
            "beta_2": optimizer.beta_2,
            "epsilon": optimizer.epsilon,
            "t": int(optimizer.t),
        }
    else:
        raise TypeError(
            f"the model's optimizer is a {type(optimizer).__name__}, not scikit-learn's"
            " SGDOptimizer or AdamOptimizer."
        )
    fields["code"] = code
    fields["learning_rate_init"] = optimizer.learning_rate_init
    n = len(sizes) - 1
    state = np.empty((len(moments), n_params(sizes)), dtype=dtype)
    for row, arrays in zip(state, moments):
        if len(arrays) != 2 * n:
            raise ValueError(f"the optimizer's state has {len(arrays)} arrays for {n} layers.")
        got, row[:] = _pack(arrays[:n], arrays[n:], dtype)
        if got != sizes:
            raise ValueError("the optimizer's state does not have the shapes of coefs_.")
    return StochasticOptimizer._from_fitted_state(fields, state)


# -------------------------------------------------------------- to scikit-learn ----


def to_sklearn(model):
    """A scikit-learn MLP from a fitted fastbp estimator, ready to go on training.

    Parameters
    ----------
    model : fitted fastbp.MLPRegressor or fastbp.MLPClassifier
        With a hidden activation scikit-learn has (identity, logistic, tanh,
        relu) and, for a classifier, no ``class_weight``.

    Returns
    -------
    sklearn.neural_network.MLPRegressor or MLPClassifier
        With the same hyperparameters (``progress`` left out), weights (in the
        model's dtype), fitted attributes, early stopping's best weights and the
        sgd / adam optimizer's state (``_optimizer``), so that scikit-learn's
        ``predict`` gives what fastbp's does (on X of the model's dtype) and its
        ``partial_fit`` or ``warm_start=True`` fit continues as fastbp's would.
        Nothing is shared with ``model``.

    Raises
    ------
    TypeError
        If ``model`` is not a fastbp estimator (a ``Network`` has no scikit-learn
        counterpart).
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If it uses what scikit-learn's MLPs do not have: the softplus or
        leaky_relu activations, or class weights.
    """
    ours = {cls: theirs for theirs, cls in _sklearn_classes().items()}
    cls = next((theirs for mine, theirs in ours.items() if isinstance(model, mine)), None)
    if cls is None:
        what = f"{type(model).__module__}.{type(model).__qualname__}"
        hint = " (a Network has no scikit-learn counterpart)" if isinstance(model, Network) else ""
        raise TypeError(
            f"to_sklearn takes a fitted fastbp.MLPRegressor or MLPClassifier, got {what}{hint}."
        )
    check_is_fitted(model)
    if model.activation not in SKLEARN_ACTIVATIONS:
        raise ValueError(
            f"scikit-learn's {cls.__name__} has no activation {model.activation!r} (it has"
            f" {list(SKLEARN_ACTIVATIONS)}): this model cannot be converted."
        )
    if getattr(model, "class_weight", None) is not None:
        raise ValueError(
            f"scikit-learn's {cls.__name__} has no class_weight (this model has"
            f" {model.class_weight!r}): its weights were fitted to a loss scikit-learn's does"
            " not compute, and it cannot be converted."
        )
    params = {k: v for k, v in model.get_params(deep=False).items() if k not in FASTBP_ONLY}
    est = cls(**copy.deepcopy(params))
    net = model._synced_network()
    sizes = [int(s) for s in net.layer_sizes]
    est.coefs_, est.intercepts_ = _unpack(net.params, sizes)
    for name in BaseMLP._FITTED_ATTRIBUTES:
        if hasattr(model, name):
            setattr(est, name, _plain(getattr(model, name)))
    if hasattr(model, "_label_binarizer"):
        est._label_binarizer = copy.deepcopy(model._label_binarizer)
        est.classes_ = est._label_binarizer.classes_
    best = getattr(model, "_best_params", None)
    if best is None:  # the model's own weights, trained in place (see the module's doc)
        est._best_coefs, est._best_intercepts = est.coefs_, est.intercepts_
    else:
        est._best_coefs, est._best_intercepts = _unpack(best, sizes)
    optimizer = getattr(model, "_optimizer", None)
    if optimizer is not None:
        est._optimizer = _optimizer_to_sklearn(optimizer, est, sizes)
    return est


def _optimizer_to_sklearn(optimizer, est, sizes):
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

    params = est.coefs_ + est.intercepts_
    moments = [sum(_unpack(row, sizes), []) for row in optimizer.state]
    if optimizer.code == ADAM:
        opt = AdamOptimizer(
            params, optimizer.learning_rate_init, optimizer.beta_1, optimizer.beta_2,
            optimizer.epsilon,
        )  # fmt: skip
        opt.t = int(optimizer.t)
        opt.ms, opt.vs = moments
        if opt.t > 0:  # its last step's rate, as AdamOptimizer._get_updates computes it
            opt.learning_rate = (
                opt.learning_rate_init * np.sqrt(1 - opt.beta_2**opt.t) / (1 - opt.beta_1**opt.t)
            )
        return opt
    opt = SGDOptimizer(
        params, optimizer.learning_rate_init, optimizer.lr_schedule, optimizer.momentum,
        optimizer.nesterov, optimizer.power_t,
    )  # fmt: skip
    opt.learning_rate = float(optimizer.learning_rate)
    (opt.velocities,) = moments
    return opt
