"""``fastbp.GridSearchCV``: scikit-learn's, with each fold's candidates fitted together.

A subclass of ``sklearn.model_selection.GridSearchCV`` (same parameters,
attributes and ``cv_results_``) that, for a fastbp MLPRegressor or
MLPClassifier, fits the candidates of one fold through one ``fastbp.fit_many``
call instead of one ``_fit_and_score`` each. Each candidate is fitted exactly as
scikit-learn's search fits it (``clone(estimator).set_params(**candidate)`` on
the fold's rows; ``fit_many`` fits each as it would be fitted alone) and scored
by scikit-learn's own ``_score``, so ``cv_results_`` holds the same values; only
the times differ (below).

``fit`` below follows ``BaseSearchCV.fit`` (``sklearn/model_selection/_search.py``)
and ``_fit_and_score`` (``_validation.py``) step by step. The differences:

- every fit is made first, fold by fold; the scoring then walks the
  (candidate, split) pairs in scikit-learn's order, so with
  ``error_score="raise"`` the same failure (of a fit or of a scorer) is raised;
- a fold's candidates whose parameters fail validation, and all of a fold's
  candidates if its ``fit_many`` call raises, are fitted one at a time, each
  failure recorded as ``_fit_and_score`` records it (``error_score``);
- ``fit_time``: a fold's ``fit_many`` time shared equally by its candidates
  (one fitted alone keeps its own time); ``score_time`` is each candidate's own;
- ``n_jobs`` and ``pre_dispatch`` are not used: ``fit_many`` spreads the
  candidates of a fold over the cores itself.

Anything else runs scikit-learn's ``fit`` unchanged: another estimator
(including a Pipeline), metadata routing, fit parameters other than
``sample_weight`` and ``groups``, callbacks (``set_callbacks``), or a candidate
with ``random_state=None`` (its draws from NumPy's global generator depend on the
order of the fits).
"""

import time
from collections import defaultdict
from traceback import format_exc

from joblib import logger
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import GridSearchCV as _SklearnGridSearchCV
from sklearn.model_selection import ParameterGrid
from sklearn.model_selection._split import check_cv
from sklearn.model_selection._validation import (
    _insert_error_scores,
    _score,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, _num_samples, indexable

from ._base import BaseMLP
from .many import fit_many

__all__ = ["GridSearchCV"]

GROUPED_FIT_PARAMS = {"sample_weight", "groups"}


class _Fit:
    """One candidate's fit on one split: the fitted estimator or the failure."""

    def __init__(self, estimator, fit_time, error=None, traceback=None):
        self.estimator, self.fit_time = estimator, fit_time
        self.error, self.traceback = error, traceback


class GridSearchCV(_SklearnGridSearchCV):
    __doc__ = (
        "scikit-learn's GridSearchCV, fitting each fold's candidates together.\n\n"
        "    Same parameters, attributes and ``cv_results_`` as\n"
        "    :class:`sklearn.model_selection.GridSearchCV`. For a fastbp MLPRegressor\n"
        "    or MLPClassifier, the candidates of one fold are fitted by one\n"
        "    :func:`fastbp.fit_many` call (each exactly as it is fitted alone), so\n"
        "    ``cv_results_`` equals scikit-learn's but for the timing columns:\n"
        "    ``mean_fit_time`` / ``std_fit_time`` share each fold's ``fit_many`` time\n"
        "    among its candidates. ``n_jobs`` and ``pre_dispatch`` are then unused\n"
        "    (``fit_many`` uses the cores). Other estimators, fit parameters\n"
        "    besides ``sample_weight`` and ``groups``, metadata routing and callbacks\n"
        "    run scikit-learn's search unchanged. See ``fastbp/search.py``.\n"
    )

    def _grouped(self, params):
        """Whether this fit can fit each fold's candidates together: not where a
        candidate draws from NumPy's global generator (``random_state=None``), whose
        draws would then follow the fits' order, not scikit-learn's."""
        return (
            isinstance(self.estimator, BaseMLP)
            and not _routing_enabled()
            and set(params) <= GROUPED_FIT_PARAMS
            and not getattr(self, "_skl_callbacks", None)
            and not any(
                p.get("random_state", self.estimator.random_state) is None
                for p in ParameterGrid(self.param_grid)
            )
        )

    def fit(self, X, y=None, **params):
        if self._grouped(params):
            return self._fit_grouped(X, y, **params)
        return super().fit(X, y, **params)

    fit.__doc__ = _SklearnGridSearchCV.fit.__doc__

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        if callback_ctx is None:  # the grouped fit (scikit-learn's fit passes a context)
            evaluate_candidates(ParameterGrid(self.param_grid))
        else:
            super()._run_search(evaluate_candidates, callback_ctx=callback_ctx)

    @_fit_context(prefer_skip_nested_validation=False)  # (the estimator is not validated yet)
    def _fit_grouped(self, X, y=None, **params):
        """``BaseSearchCV.fit``, its candidates evaluated by ``_evaluate``."""
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed_params = self._get_routed_params_for_fit(params)
        split_params = routed_params.splitter.split

        self._checked_cv_orig = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self._check_input_parameters(X=X, y=y, split_params=split_params)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(X, y, **split_params)
        base_estimator = clone(self.estimator)

        all_candidate_params, all_out = [], []
        all_more_results = defaultdict(list)
        results = {}

        def evaluate_candidates(candidate_params, cv=None, more_results=None):
            nonlocal results
            cv = cv or self._checked_cv_orig
            candidate_params = list(candidate_params)
            n_splits = self.n_splits_
            cv_splits = list(cv.split(X, y, **split_params))
            if len(cv_splits) != n_splits:
                raise ValueError(
                    "cv.split and cv.get_n_splits return inconsistent results. "
                    f"Expected {n_splits} splits, got {len(cv_splits)}"
                )
            if self.verbose > 0:
                print(
                    f"Fitting {n_splits} folds for each of {len(candidate_params)} candidates,"
                    f" totalling {len(candidate_params) * n_splits} fits"
                )
            out = self._evaluate(
                base_estimator, X, y, candidate_params, cv_splits, scorers, routed_params
            )
            if len(out) < 1:
                raise ValueError(
                    "No fits were performed. Was the CV iterator empty? Were there no candidates?"
                )
            _warn_or_raise_about_fit_failures(out, self.error_score)
            if callable(self.scoring):
                _insert_error_scores(out, self.error_score)
            all_candidate_params.extend(candidate_params)
            all_out.extend(out)
            for key, value in (more_results or {}).items():
                all_more_results[key].extend(value)
            results = self._format_results(
                all_candidate_params, n_splits, all_out, all_more_results
            )
            return results

        self._run_search(evaluate_candidates)

        first_test_score = all_out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first_test_score)
            refit_metric = self.refit

        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]

        if self.refit:
            self.best_estimator_ = clone(base_estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            refit_start_time = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed_params.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed_params.estimator.fit)
            self.refit_time_ = time.time() - refit_start_time
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_

        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results
        return self

    # ----- one call of evaluate_candidates -----

    def _evaluate(self, base_estimator, X, y, candidate_params, cv_splits, scorer, routed):
        """What ``_fit_and_score`` returns for each (candidate, split), in scikit-learn's
        order (candidates outer, splits inner)."""
        fit_params, score_params = routed.estimator.fit, routed.scorer.score
        fits = []  # fits[split][candidate]
        for train, _test in cv_splits:
            fold_fit_params = _check_method_params(X, params=fit_params, indices=train)
            fits.append(
                self._fit_fold(base_estimator, X, y, train, candidate_params, fold_fit_params)
            )
        out = []
        for c, parameters in enumerate(candidate_params):
            for s, (train, test) in enumerate(cv_splits):
                progress = ((s, len(cv_splits)), (c, len(candidate_params)))
                if self.verbose > 9:  # (the fits were made before: the lines in its order)
                    _report_start(parameters, *progress)
                result = self._score_fit(fits[s][c], X, y, train, test, scorer, score_params)
                if self.verbose > 1:
                    _report(self.verbose, parameters, *progress, result)
                out.append(result)
        return out

    def _fit_fold(self, base_estimator, X, y, train, candidate_params, fit_params):
        """Each candidate fitted on the fold's rows ``train``: a list of ``_Fit``."""
        start = time.time()
        estimators = [
            clone(base_estimator).set_params(**clone(p, safe=False)) for p in candidate_params
        ]
        X_train, y_train = _safe_split(base_estimator, X, y, train)
        valid = [i for i, est in enumerate(estimators) if _valid_params(est)]
        fits = [None] * len(estimators)
        try:
            fit_many([estimators[i] for i in valid], X_train, y_train, **fit_params)
        except Exception:  # one of them failed: each is fitted alone below
            valid = []
        else:
            share = (time.time() - start) / max(len(valid), 1)
            for i in valid:
                fits[i] = _Fit(estimators[i], share)
        for i, parameters in enumerate(candidate_params):
            if fits[i] is None:
                fits[i] = _fit_alone(base_estimator, parameters, X_train, y_train, fit_params)
        return fits

    def _score_fit(self, fit, X, y, train, test, scorer, score_params):
        """The end of ``_fit_and_score`` for a fit made: its result dict."""
        error_score = self.error_score
        X_test, y_test = _safe_split(fit.estimator, X, y, test, train)
        result = {}
        if fit.error is not None:
            if error_score == "raise":
                raise fit.error
            if isinstance(scorer, _MultimetricScorer):
                test_scores = {name: error_score for name in scorer._scorers}
                train_scores = test_scores.copy()
            else:
                test_scores = train_scores = error_score
            result["fit_error"] = fit.traceback
            score_time = 0.0
        else:
            result["fit_error"] = None

            def score(X_part, y_part, indices):
                params = _check_method_params(X, params=score_params, indices=indices)
                return _score(fit.estimator, X_part, y_part, scorer, params, error_score)

            start = time.time()
            test_scores = score(X_test, y_test, test)
            score_time = time.time() - start
            if self.return_train_score:
                train_scores = score(*_safe_split(fit.estimator, X, y, train), train)
        result["test_scores"] = test_scores
        if self.return_train_score:
            result["train_scores"] = train_scores
        result["n_test_samples"] = _num_samples(X_test)
        result["fit_time"] = fit.fit_time
        result["score_time"] = score_time
        return result


def _valid_params(estimator):
    """Whether the estimator's parameters pass its own validation (else it is
    fitted alone, to fail as scikit-learn's search sees it fail)."""
    try:
        estimator._validate_params()
    except InvalidParameterError:
        return False
    return True


def _fit_alone(base_estimator, parameters, X_train, y_train, fit_params):
    """One candidate fitted by itself, its failure kept as ``_fit_and_score`` keeps it."""
    estimator = clone(base_estimator).set_params(**clone(parameters, safe=False))
    start = time.time()
    try:
        if y_train is None:
            estimator.fit(X_train, **fit_params)
        else:
            estimator.fit(X_train, y_train, **fit_params)
    except Exception as exc:
        return _Fit(estimator, time.time() - start, exc, format_exc())
    return _Fit(estimator, time.time() - start)


def _progress_and_parameters(verbose, parameters, split_progress, candidate_progress):
    progress_msg = ""
    if verbose > 2:
        progress_msg = f" {split_progress[0] + 1}/{split_progress[1]}"
        if verbose > 9:
            progress_msg += f"; {candidate_progress[0] + 1}/{candidate_progress[1]}"
    params_msg = ", ".join(f"{k}={parameters[k]}" for k in sorted(parameters))
    return progress_msg, params_msg


def _report_start(parameters, split_progress, candidate_progress):
    """The line ``_fit_and_score`` prints before a fit (``verbose > 9``)."""
    progress_msg, params_msg = _progress_and_parameters(
        10, parameters, split_progress, candidate_progress
    )
    start_msg = f"[CV{progress_msg}] START {params_msg}"
    print(f"{start_msg}{(80 - len(start_msg)) * '.'}")


def _report(verbose, parameters, split_progress, candidate_progress, result):
    """The line ``_fit_and_score`` prints at the end of a fit (``verbose > 1``)."""
    progress_msg, params_msg = _progress_and_parameters(
        verbose, parameters, split_progress, candidate_progress
    )
    end_msg = f"[CV{progress_msg}] END "
    result_msg = params_msg + (";" if params_msg else "")
    test_scores, train_scores = result["test_scores"], result.get("train_scores")
    if verbose > 2:
        if isinstance(test_scores, dict):
            for scorer_name in sorted(test_scores):
                result_msg += f" {scorer_name}: ("
                if train_scores is not None:
                    result_msg += f"train={train_scores[scorer_name]:.3f}, "
                result_msg += f"test={test_scores[scorer_name]:.3f})"
        else:
            result_msg += ", score="
            if train_scores is not None:
                result_msg += f"(train={train_scores:.3f}, test={test_scores:.3f})"
            else:
                result_msg += f"{test_scores:.3f}"
    total_time = result["fit_time"] + result["score_time"]
    result_msg += f" total time={logger.short_format_time(total_time)}"
    print(end_msg + "." * (80 - len(end_msg) - len(result_msg)) + result_msg)
