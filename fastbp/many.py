"""``fastbp.fit_many``: many estimators fitted on the same data, on every core.

Each member is fitted by its own ``fit``, so each returned estimator equals, in
every fitted attribute, the same estimator fitted alone. What changes is where:
members whose fit does not depend on what runs beside it train in parallel
threads, one per core, the compiled epochs releasing the GIL. The others, fitted
one after another on the calling thread first, in the order given, are:

- lbfgs members, whose full-batch products take all of BLAS's threads; and sgd or
  adam members whose batch products are large enough to take several
  (``_threads.one_blas_thread``): in a worker thread they would take one, and
  OpenBLAS's sums change with its number of threads;
- members drawing from a RandomState another member (or the global one, with
  ``random_state=None``) draws from too: their draws depend on the order;
- members with ``verbose`` or ``progress``, which print;
- members whose sizes cannot be told before their fit checks the data (an ``X``
  without a ``shape``, such as a list: convert it to an array first).

Members are not vectorised across one another inside a compiled pass: each
trains its own network by its own kernels, so the speed-up is at most the number
of cores (DESIGN.md says what a compiled pass across members would take).
"""

import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from numbers import Integral

import numpy as np
from sklearn import config_context, get_config
from sklearn.base import is_classifier

from ._base import STOCHASTIC_SOLVERS, BaseMLP
from ._config import BLAS_THREADS_MIN_FLOPS
from ._interrupts import HeldInterrupt, stopping_with


def fit_many(estimators, X, y, sample_weight=None):
    """Fit each of ``estimators`` on ``X``, ``y`` (and ``sample_weight``), on every core.

    Each is fitted as ``est.fit(X, y, sample_weight=sample_weight)`` fits it alone,
    with the same numbers in every fitted attribute; members that can be fitted
    side by side without changing them run in parallel threads (see the module's
    docstring for those that cannot).

    Parameters
    ----------
    estimators : list of fastbp MLPRegressor or MLPClassifier
        Fitted in place. Each estimator object may appear once.
    X, y, sample_weight : as for ``fit``

    Returns
    -------
    list
        ``estimators``, fitted.

    Raises
    ------
    The first error of a member's fit (those on the calling thread are fitted
    first; then the threads' first in the order of ``estimators``), once the
    members being fitted have ended; that member is left as it was (as ``fit``
    leaves it), the members fitted are kept, those not started are left as they
    were. On Ctrl-C, the members being fitted stop after their current epochs, as
    ``fit`` stops, and KeyboardInterrupt is raised.
    """
    estimators = list(estimators)
    fit_each([(est, X, y, sample_weight) for est in estimators])
    return estimators


def fit_each(fits):
    """``fit_many`` with data of each member's own: ``fits`` is a list of
    ``(estimator, X, y, sample_weight)`` (the ensembles' bootstrap samples)."""
    seen = {}
    for i, (est, *_) in enumerate(fits):
        if not isinstance(est, BaseMLP):
            raise TypeError(
                "fit_many fits fastbp MLPRegressor and MLPClassifier estimators;"
                f" item {i} is {type(est).__name__}."
            )
        # (a shallow copy of a fitted estimator shares its network: one buffer
        # trained by two threads)
        network = getattr(est, "_network", None)
        for key in (id(est),) if network is None else (id(est), id(network)):
            if key in seen:
                raise ValueError(
                    f"Items {seen[key]} and {i} of estimators are the same object, or"
                    " share their fitted network (copy.copy): fit_many fits each member"
                    " once. Use sklearn.base.clone or copy.deepcopy for copies."
                )
            seen[key] = i
    apart = _fitted_apart(fits)
    with HeldInterrupt() as interrupt:
        for job, alone in zip(fits, apart):
            if alone:
                _fit(*job)
                if interrupt.take():
                    raise KeyboardInterrupt
        together = [job for job, alone in zip(fits, apart) if not alone]
        if together:
            _fit_in_threads(together, interrupt)


def _fit(est, X, y, sample_weight):
    return est.fit(X, y, sample_weight=sample_weight)


def _workers():
    """The cores this process may run on."""
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _fit_in_threads(fits, interrupt):
    stop = threading.Event()
    config = get_config()  # (scikit-learn's configuration is per thread)

    def fit(job):
        with config_context(**config):
            return _fit(*job)

    def start():
        stopping_with(stop)

    workers = max(1, min(_workers(), len(fits)))
    contexts = [contextvars.copy_context() for _ in fits]
    with ThreadPoolExecutor(workers, thread_name_prefix="fastbp-fit-many") as pool:
        futures = []
        for job, context in zip(fits, contexts):
            context.run(start)
            futures.append(pool.submit(context.run, fit, job))
        pending = set(futures)
        while pending:  # (waking up to take Ctrl-C, which only this thread receives)
            done, pending = wait(pending, timeout=0.05)
            if interrupt.take():
                stop.set()
            failed = any(not f.cancelled() and f.exception() is not None for f in done)
            if stop.is_set() or failed:
                for f in pending:
                    f.cancel()  # (those not started)
    for f in futures:
        if not f.cancelled() and f.exception() is not None:
            raise f.exception()
    if stop.is_set():
        raise KeyboardInterrupt


def _fitted_apart(fits):
    """Per fit (``fit_each``'s): True if it is made on the calling thread, one after
    another."""
    states = {}
    for est, *_ in fits:
        rs = est.random_state
        if isinstance(rs, np.random.RandomState):
            states[id(rs)] = states.get(id(rs), 0) + 1
    sizes = {}  # (each data set's once)
    apart = []
    for est, X, y, _ in fits:
        if (id(X), id(y)) not in sizes:
            sizes[id(X), id(y)] = _sizes(X, y)
        n_features, n_outputs = sizes[id(X), id(y)]
        rs = est.random_state
        own_draws = isinstance(rs, Integral) or (
            isinstance(rs, np.random.RandomState) and states[id(rs)] == 1
        )
        apart.append(
            est.solver not in STOCHASTIC_SOLVERS
            or est.verbose
            or est.progress
            or not own_draws
            or not _one_thread_anyway(est, n_features, n_outputs(est))
        )
    return apart


def _sizes(X, y):
    """The number of features, and a function giving a member's number of outputs, as
    its fit will find them; None where they cannot be told without the fit's checks
    (the members are then fitted apart)."""
    shape = getattr(X, "shape", None)
    n_features = shape[1] if shape is not None and len(shape) == 2 else None
    y = np.asarray(y) if isinstance(y, (np.ndarray, list, tuple)) else getattr(y, "values", y)
    if not isinstance(y, np.ndarray) or y.ndim not in (1, 2):
        return n_features, lambda est: None
    if y.ndim == 2:
        return n_features, lambda est: y.shape[1]
    try:
        n_classes = np.unique(y).shape[0]
    except TypeError:  # (labels numpy cannot sort)
        n_classes = None

    def outputs(est):
        if not is_classifier(est):
            return 1
        return None if n_classes is None else (1 if n_classes <= 2 else n_classes)

    return n_features, outputs


def _one_thread_anyway(est, n_features, n_outputs):
    """Whether ``est``'s fit alone takes at most one BLAS thread, as it would in a
    worker thread (``_threads``), so that OpenBLAS's sums are the same there: every
    layer's product for a batch of its largest size below BLAS_THREADS_MIN_FLOPS."""
    hidden = est.hidden_layer_sizes
    hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
    batch = 200 if est.batch_size == "auto" else est.batch_size
    try:
        sizes = [int(n_features), *(int(h) for h in hidden), int(n_outputs)]
        batch = int(batch)
    except (TypeError, ValueError):  # (None, or what the fit's checks will refuse)
        return False
    if min(sizes) < 1 or batch < 1:
        return False
    largest = max(batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return largest < BLAS_THREADS_MIN_FLOPS
