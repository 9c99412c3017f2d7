"""``fastbp.fit_many``: many estimators fitted on the same data.

Each returned estimator equals, in every fitted attribute, the same estimator
fitted alone with ``fit``.
"""

from ._base import BaseMLP


def fit_many(estimators, X, y, sample_weight=None):
    """Fit each of ``estimators`` on ``X``, ``y`` (and ``sample_weight``).

    Parameters
    ----------
    estimators : list of fastbp MLPRegressor or MLPClassifier
        Fitted in place, as ``est.fit(X, y, sample_weight=sample_weight)`` would.
    X, y, sample_weight : as for ``fit``

    Returns
    -------
    list
        ``estimators``, fitted.
    """
    estimators = list(estimators)
    for i, est in enumerate(estimators):
        if not isinstance(est, BaseMLP):
            raise TypeError(
                "fit_many fits fastbp MLPRegressor and MLPClassifier estimators;"
                f" item {i} is {type(est).__name__}."
            )
    for est in estimators:
        est.fit(X, y, sample_weight=sample_weight)
    return estimators
