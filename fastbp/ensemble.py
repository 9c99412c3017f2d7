"""``fastbp.EnsembleRegressor`` and ``fastbp.EnsembleClassifier``: ensembles of MLPs.

An ensemble of ``n_estimators`` members, each ``clone(estimator)`` with its own
``random_state``, fitted together by ``fastbp.fit_many``; its prediction is the
members' mean (the classifier's, the mean of their ``predict_proba``).

What is scikit-learn's, and where:

- the seeds: ``seeds_ = check_random_state(random_state).randint(MAX_INT,
  size=n_estimators)``, the draws of ``BaggingRegressor``'s per-member seeds
  (``sklearn/ensemble/_bagging.py``, ``BaseBagging._fit``), which are also the
  ``random_state`` values ``RandomForestRegressor`` gives its trees
  (``_set_random_states`` draws them one at a time from the same generator:
  the same numbers). Member k's ``random_state`` is ``seeds_[k]`` itself (where
  ``BaggingRegressor`` draws once more from ``RandomState(seeds_[k])``), so that
  member k is exactly ``clone(estimator).set_params(random_state=seeds_[k])``.
- a ``warm_start`` fit that adds members skips the draws of the members it has,
  as ``BaggingRegressor``'s does: the seeds are those of one fit of them all.
- ``bootstrap=True``: member k's rows are ``_generate_bagging_indices`` with
  ``seeds_[k]``, the rows ``BaggingRegressor`` draws for its member k (its
  ``estimators_samples_``), with ``sample_weight`` as the probabilities of the
  draw, as there. ``BaggingRegressor`` hands an estimator that takes
  ``sample_weight`` all the rows with the counts as weights; here member k
  fits on the rows drawn, ``X[indices_k]`` in the order drawn, as a user who
  resamples by hand would: for minibatch training the two differ (batches,
  shuffling), and rows are what "fitted on its bootstrap sample" means.
"""

import copy
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
)
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils._tags import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .estimators import MLPClassifier, MLPRegressor, label_binarizer
from .many import fit_each, fit_many

__all__ = ["EnsembleClassifier", "EnsembleRegressor"]

MAX_INT = np.iinfo(np.int32).max  # scikit-learn's ensembles draw seeds below it


def _can_partial_fit(ens):
    """``available_if``: partial_fit exists when the members' does and there is no
    bootstrap (each member's sample is drawn from all the rows at once)."""
    if ens.bootstrap:
        raise AttributeError(
            f"{type(ens).__name__}.partial_fit does not bootstrap: a bootstrap sample is "
            "drawn from all the rows at once. Use bootstrap=False, or fit."
        )
    return hasattr(ens._template(), "partial_fit")


class _BaseEnsemble(MetaEstimatorMixin, BaseEstimator):
    """The members, their seeds, fitting and state; use the subclasses."""

    _member_class = None  # MLPRegressor or MLPClassifier

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, n_estimators=16, bootstrap=False, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.bootstrap = bootstrap
        self.random_state = random_state

    # ----- the members -----

    def _template(self):
        return self._member_class() if self.estimator is None else self.estimator

    def _validate_estimator(self):
        est = self._template()
        if not isinstance(est, self._member_class):
            raise TypeError(
                f"{type(self).__name__}'s estimator must be a fastbp "
                f"{self._member_class.__name__}, got {type(est).__name__}."
            )
        self.estimator_ = est
        return est

    @staticmethod
    def _member(estimator, seed):
        """Member with seed ``seed``: ``clone(estimator)`` with ``random_state=seed``."""
        return clone(estimator).set_params(random_state=int(seed))

    def _members_for_fit(self, estimator, warm):
        """The members a fit trains and their seeds: with ``warm`` the fitted ones
        (copies, their parameters the estimator's) followed by new ones."""
        old = list(self.estimators_) if warm else []
        if len(old) > self.n_estimators:
            raise ValueError(
                "n_estimators=%d must be larger or equal to len(estimators_)=%d when "
                "the estimator's warm_start is True" % (self.n_estimators, len(old))
            )
        rng = check_random_state(self.random_state)
        if old:  # as BaggingRegressor: the draws of the members there are
            rng.randint(MAX_INT, size=len(old))
        new_seeds = rng.randint(MAX_INT, size=self.n_estimators - len(old))
        seeds = np.concatenate([self.seeds_[: len(old)], new_seeds]) if old else new_seeds
        members = []
        for member, seed in zip(old, seeds):
            member = copy.deepcopy(member)  # the ensemble is unchanged if the fit raises
            params = clone(estimator).get_params(deep=False)
            members.append(member.set_params(**{**params, "random_state": int(seed)}))
        members += [self._member(estimator, seed) for seed in new_seeds]
        return members, seeds.astype(np.int64)

    def _bootstrap_indices(self, seed, X, sample_weight):
        """The rows of member ``seed``'s bootstrap sample, as BaggingRegressor draws them."""
        # (imported here: sklearn.ensemble loads much of scikit-learn, see estimators.py)
        from sklearn.ensemble._bagging import _generate_bagging_indices

        n_samples, n_features = X.shape
        _, indices = _generate_bagging_indices(
            int(seed), False, True, n_features, n_samples, n_features, n_samples, sample_weight
        )
        return indices

    # ----- fitting -----

    def _validate_fit_data(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=not isinstance(self, ClassifierMixin),
            dtype=(np.float64, np.float32),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _fit(self, X, y, sample_weight):
        estimator = self._validate_estimator()
        warm = estimator.warm_start and hasattr(self, "estimators_")
        members, seeds = self._members_for_fit(estimator, warm)
        if not self.bootstrap:
            fit_many(members, X, y, sample_weight=sample_weight)
        else:  # each member its own rows (fitted in parallel all the same: fit_each)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, X)
            fits = []
            for member, seed in zip(members, seeds):
                rows = self._bootstrap_indices(seed, X, sample_weight)
                fits.append((member, _safe_indexing(X, rows), _safe_indexing(y, rows), None))
            fit_each(fits)
        self.estimators_, self.seeds_ = members, seeds
        return self

    def _partial_fit(self, X, y, sample_weight, first_call, **kwargs):
        first = not hasattr(self, "estimators_")
        X, y = self._validate_fit_data(X, y, reset=first)
        if first:
            first_call(y)
            estimator = self._validate_estimator()
            seeds = check_random_state(self.random_state).randint(MAX_INT, size=self.n_estimators)
            members = [self._member(estimator, seed) for seed in seeds]
        else:
            if len(self.estimators_) != self.n_estimators:
                raise ValueError(
                    f"n_estimators={self.n_estimators} but the ensemble has "
                    f"{len(self.estimators_)} members: partial_fit continues the members "
                    "it has; fit to change their number."
                )
            seeds = self.seeds_
            members = [copy.deepcopy(m) for m in self.estimators_]
        for member in members:
            member.partial_fit(X, y, sample_weight=sample_weight, **kwargs)
        self.estimators_, self.seeds_ = members, seeds.astype(np.int64)
        return self

    def _guarded(self, method, *args, **kwargs):
        """``method(*args, **kwargs)``, the ensemble left as it was if it raises (as fastbp's
        estimators are), a RandomState passed as ``random_state`` included."""
        saved = dict(self.__dict__)
        rng = self.random_state
        rng_state = rng.get_state() if isinstance(rng, np.random.RandomState) else None
        try:
            return method(*args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if rng_state is not None:
                rng.set_state(rng_state)
            raise

    # ----- the ensemble -----

    def __len__(self):
        """The number of members."""
        return len(self.estimators_)

    def __getitem__(self, index):
        """Member ``index``."""
        return self.estimators_[index]

    def __iter__(self):
        """The members."""
        return iter(self.estimators_)

    def _predict_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        member_tags = get_tags(self._template())
        tags.input_tags.sparse = member_tags.input_tags.sparse
        tags.target_tags.multi_output = member_tags.target_tags.multi_output
        return tags

    # ----- model files (fastbp.io) -----

    def _fitted_state(self):
        """What a model file keeps: the hyperparameters (the estimator apart), the
        members, their seeds and the fitted attributes."""
        check_is_fitted(self)
        hyperparameters = self.get_params(deep=False)
        state = {
            "estimator": hyperparameters.pop("estimator"),
            "hyperparameters": hyperparameters,
            "members": list(self.estimators_),
            "seeds": [int(s) for s in self.seeds_],
            "attributes": {"n_features_in_": self.n_features_in_},
        }
        if hasattr(self, "feature_names_in_"):
            state["attributes"]["feature_names_in_"] = self.feature_names_in_
        return state

    @classmethod
    def _from_fitted_state(cls, estimator, hyperparameters, members, seeds, attributes):
        """A fitted ensemble from what ``_fitted_state`` gave, checked by the caller."""
        ens = cls(estimator=estimator, **hyperparameters)
        ens._validate_estimator()
        ens.estimators_ = list(members)
        ens.seeds_ = np.asarray(seeds, dtype=np.int64)
        for name, value in attributes.items():
            setattr(ens, name, value)
        return ens


_DOC = """{summary}

    Member k is ``clone(estimator)`` with ``random_state=seeds_[k]``; the members
    are fitted together by :func:`fastbp.fit_many`, each exactly as it would be
    fitted alone. Parameters, and nested ``get_params`` / ``set_params``
    (``estimator__alpha``), are those of scikit-learn's ``Bagging{kind}``.

    Parameters
    ----------
    estimator : fastbp {member}, default=None
        The members' model; None means ``{member}()``. Its ``warm_start`` is the
        ensemble's: with it a second ``fit`` continues each member (with the
        estimator's current parameters) and adds members if ``n_estimators``
        grew, their seeds those a single fit of them all would draw.
    n_estimators : int, default=16
        The number of members.
    bootstrap : bool, default=False
        Fit member k on its own bootstrap sample: the rows ``X[indices_k]``, with
        ``indices_k`` drawn as ``BaggingRegressor`` draws its member k's, from
        ``seeds_[k]`` (``sample_weight``, if given, being the probabilities of the
        draw, and not passed to the members). Without it every member fits on
        all the rows (and ``sample_weight``). ``partial_fit`` refuses it.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds: ``seeds_ = check_random_state(random_state)
        .randint(2**31 - 1, size=n_estimators)``, as scikit-learn's ensembles do.

    Attributes
    ----------
    estimator_ : {member}
        The estimator the members are cloned from.
    estimators_ : list of {member}
        The fitted members, ordinary fastbp estimators.
    seeds_ : ndarray of int64, shape (n_estimators,)
        The members' ``random_state``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str (when X had feature names)
"""


class EnsembleRegressor(RegressorMixin, _BaseEnsemble):
    __doc__ = _DOC.format(
        summary="An ensemble of fastbp MLPRegressors: their mean and standard deviation.",
        kind="Regressor",
        member="MLPRegressor",
    )

    _member_class = MLPRegressor

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the members on X, y (and sample_weight); returns self."""

        def run():
            X_, y_ = self._validate_fit_data(X, y, reset=True)
            return self._fit(X_, y_, sample_weight)

        return self._guarded(run)

    @available_if(_can_partial_fit)
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None):
        """Each member's ``partial_fit`` on X, y; the first call makes the members."""
        return self._guarded(self._partial_fit, X, y, sample_weight, lambda y: None)

    def predict(self, X, return_std=False):
        """The members' mean prediction and, with ``return_std``, their standard deviation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation over members (``np.std``, ddof=0).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        y_std : ndarray, same shape (only with ``return_std``)
        """
        X = self._predict_X(X)
        predictions = np.stack([member.predict(X) for member in self.estimators_])
        mean = predictions.mean(axis=0)
        return (mean, predictions.std(axis=0)) if return_std else mean


class EnsembleClassifier(ClassifierMixin, _BaseEnsemble):
    __doc__ = _DOC.format(
        summary="An ensemble of fastbp MLPClassifiers: the mean of their predict_proba.",
        kind="Classifier",
        member="MLPClassifier",
    ) + (
        """    classes_ : ndarray
        The class labels (multilabel: the label columns, as MLPClassifier's).
"""
    )

    _member_class = MLPClassifier

    def _set_classes(self, fit_on):
        self._label_binarizer = label_binarizer().fit(fit_on)
        self.classes_ = self._label_binarizer.classes_

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the members on X, y (and sample_weight); returns self."""

        def run():
            X_, y_ = self._validate_fit_data(X, y, reset=True)
            self._set_classes(y_)
            return self._fit(X_, y_, sample_weight)

        return self._guarded(run)

    @available_if(_can_partial_fit)
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Each member's ``partial_fit``; ``classes`` is required on the first call."""

        def first_call(y):
            multilabel = y.ndim == 2
            if classes is None and not multilabel:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._set_classes(y if multilabel else classes)

        return self._guarded(self._partial_fit, X, y, sample_weight, first_call, classes=classes)

    def _fitted_state(self):
        return {**super()._fitted_state(), "label_binarizer": self._label_binarizer}

    @classmethod
    def _from_fitted_state(cls, *args, label_binarizer, **kwargs):
        ens = super()._from_fitted_state(*args, **kwargs)
        ens._label_binarizer = label_binarizer
        ens.classes_ = label_binarizer.classes_
        return ens

    def predict_proba(self, X):
        """The members' mean ``predict_proba``, shape (n_samples, n_classes).

        A member that saw only some classes (a bootstrap sample) gives the others 0.
        """
        X = self._predict_X(X)
        probas = []
        for member in self.estimators_:
            proba = member.predict_proba(X)
            if len(member.classes_) != len(self.classes_):
                full = np.zeros((proba.shape[0], len(self.classes_)), dtype=proba.dtype)
                columns = np.searchsorted(self.classes_, member.classes_)
                full[:, columns] = proba[:, : len(columns)]
                proba = full
            probas.append(proba)
        return np.stack(probas).mean(axis=0)

    def predict_log_proba(self, X):
        """Log of ``predict_proba``."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def predict(self, X):
        """The class with the highest mean probability (multilabel: each label's mean > 0.5)."""
        proba = self.predict_proba(X)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return self._label_binarizer.inverse_transform(proba)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
