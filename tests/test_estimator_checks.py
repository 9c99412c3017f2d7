"""scikit-learn's own estimator checks, run on fastbp's estimators.

Configured as scikit-learn configures its own MLPs for these checks
(sklearn/utils/_test_common/instance_generator.py: max_iter=100); no check is
expected to fail.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastbp import MLPClassifier, MLPRegressor


@pytest.mark.slow
@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
