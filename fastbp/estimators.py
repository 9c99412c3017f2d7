"""``fastbp.MLPRegressor`` and ``fastbp.MLPClassifier``: scikit-learn's MLP, on fastbp's engine.

Same parameters, attributes, warnings, errors and numbers as scikit-learn
1.9's estimators of the same names; see ``_base.py`` for how fitting matches.
Beyond scikit-learn: ``activation`` also takes "softplus" and "leaky_relu",
and MLPClassifier takes ``class_weight``.

scikit-learn's metrics, preprocessing and model selection are imported where
they are used (``score``, the classifier's labels, early stopping), not with
fastbp: a regressor's default fit never uses them (their import time: DESIGN.md).
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted

from ._base import BaseMLP
from ._inputs import binarized

_DOC_PARAMS = """
    Parameters are scikit-learn 1.9's, with the same defaults; see
    :class:`sklearn.neural_network.{name}`. ``activation`` also accepts
    "softplus" (log(1 + e^x)) and "leaky_relu" (slope 0.01).

    progress : bool, default=False
        Show a progress bar (tqdm) during fit: epochs (or L-BFGS iterations)
        done, current loss, validation score, time left. Not in scikit-learn.
"""


class MLPRegressor(RegressorMixin, BaseMLP):
    __doc__ = (
        "Multi-layer perceptron regressor, numerically scikit-learn's, trained by fastbp.\n"
        + _DOC_PARAMS.format(name="MLPRegressor")
    )

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        progress=False,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.progress = progress

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y, _ = self._checked_X_y(X, y, reset, labels=False)
        return X, y, None

    def _decode(self, outputs):
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X and y (sample_weight optional); returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    # scikit-learn's regressor tests the method itself here, not its result, so
    # partial_fit exists for every solver (lbfgs then refits); kept as is.
    @available_if(lambda est: est._check_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X, y, continuing from the current state; returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._decode(self._forward_pass_fast(X))


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = (
        "Multi-layer perceptron classifier, numerically scikit-learn's, trained by fastbp.\n"
        + _DOC_PARAMS.format(name="MLPClassifier")
        + """
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into sample_weight: a dict
        {label: weight}, or "balanced" for n_samples / (n_classes * bincount(y)).
        Not in scikit-learn's MLPClassifier. "balanced" is refused by
        partial_fit, which sees one chunk of the data at a time.
"""
    )

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    loss = "log_loss"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        progress=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.progress = progress

    def _output_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y, plain = self._checked_X_y(X, y, reset, labels=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = label_binarizer()
            binary = binarized(self._label_binarizer, y) if plain else None
            if binary is None:
                self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            if binary is not None:
                return X, binary, y
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        labels = y
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y, labels

    def _weigh_classes(self, labels, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: it "
                "needs every sample at once. Pass a dict of class weights instead."
            )
        weights = compute_sample_weight(self.class_weight, labels)
        if not (np.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError(
                "class_weight must give every class a finite weight >= 0, got "
                f"{self.class_weight!r}."
            )
        return weights if sample_weight is None else weights * sample_weight

    def _fitted_state(self):
        return {**super()._fitted_state(), "label_binarizer": self._label_binarizer}

    @classmethod
    def _from_fitted_state(
        cls, hyperparameters, network, attributes, label_binarizer, optimizer=None
    ):
        est = super()._from_fitted_state(hyperparameters, network, attributes, optimizer)
        est._label_binarizer = label_binarizer
        est.classes_ = label_binarizer.classes_
        return est

    def _decode(self, outputs):
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return self._label_binarizer.inverse_transform(outputs)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X and y (sample_weight optional); returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X, y; ``classes`` is required on the first call."""

        def first_call():
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = label_binarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)

        return self._fit(X, y, sample_weight, incremental=True, first_call=first_call)

    def predict(self, X):
        """Predicted class labels."""
        check_is_fitted(self)
        return self._decode(self._forward_pass_fast(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """Log of predict_proba."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def label_binarizer(**kwargs):
    """scikit-learn's LabelBinarizer, imported on first use (see the module's docstring)."""
    from sklearn.preprocessing import LabelBinarizer

    return LabelBinarizer(**kwargs)
