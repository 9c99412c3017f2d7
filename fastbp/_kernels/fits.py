"""Whole sgd and adam fits in compiled code: many epochs per call, no Python between them.

``run_epochs`` does what the estimators' loop did in Python around each epoch,
step for step as scikit-learn's ``_fit_stochastic`` does it: the shuffle of the
row order (``shuffle.shuffle``, on the RandomState's own MT19937 state), the epoch
(``epochs.run_epoch``, or a kernel generated for the architecture, whose module
has a copy of ``run_epochs`` of its own), its loss, the
stopping rule (on the training loss, or on early stopping's validation score,
with a copy of the best weights), and the learning-rate schedule. It stops after
``plan.epochs`` epochs, so that Python gets control back as often as it needs it
(Ctrl-C, ``verbose``, ``progress``), or when the fit ends, and says why.

The validation score is scikit-learn's: ``accuracy_score`` for classifiers,
``r2_score`` for regressors, with sample weights, summed in NumPy's order
(``numpy_sum``), so that it is the same number to the last bit
(tests/test_fits.py checks it against scikit-learn's).

What changes from epoch to epoch is in ``progress`` (``protocol.Progress``):
``ints`` and ``floats`` by the indices below, the loss of each epoch of the call
in ``curve`` and its validation score in ``scores``, the best weights in ``best``,
and scratch for sums in ``stack``.
"""

import math

from numba import int64

from .codes import ADAM
from .config import jit, jit_inline, jit_internal
from .epochs import run_epoch
from .passes import predict
from .protocol import Step
from .shuffle import shuffle
from .sums import numpy_sum

# progress.ints
N_ITER, SAMPLES_SEEN, NO_IMPROVEMENT, ADAM_STEPS, HAVE_BEST = range(5)
# progress.floats
LEARNING_RATE, BEST_LOSS, BEST_SCORE = range(3)

# Learning-rate schedules (plan.schedule).
CONSTANT, INVSCALING, ADAPTIVE = range(3)

# What ended a call of run_epochs.
EPOCHS_DONE, MAX_ITER, STOPPED, LR_TOO_SMALL, LR_DIVIDED, ZERO_WEIGHTS = range(6)

# Validation scores (validation.kind): none, R^2 of the outputs, accuracy of the
# class (one logistic output: above 0.5; softmax: the first largest), of all labels
# of a row (multilabel: each output above 0.5), of a single class (always right).
NO_SCORE, R2, LABELS, MULTILABEL, ONE_CLASS = range(5)

# A float32 array summed in float64 is summed this many values at a time (NumPy's
# buffer when it casts).
_CAST_BUFFER = 8192


@jit
def run_epochs(data, targets, rows, net, work, loss, moments, step, plan, progress, validation,
               shuffling):  # fmt: skip
    """Up to ``plan.epochs`` epochs of ``run_epoch``; returns what ended the call
    (``EPOCHS_DONE``, ``MAX_ITER``, ...). Epoch k of the call records its loss in
    progress.curve[k] and its validation score in progress.scores[k].

    A generated module's ``run_epochs`` is this function's text, where ``run_epoch``
    is the module's own (``generated``; an epoch kernel handed in as an argument
    would not survive Numba's cache).
    """
    ints, floats = progress.ints, progress.floats
    n_train = rows.order.shape[0]
    event = EPOCHS_DONE
    for k in range(plan.epochs):
        if plan.shuffle:
            shuffle(rows.order, shuffling.state, shuffling.out)
        if rows.split:
            for i in range(n_train):
                rows.epoch[i] = rows.train[rows.order[i]]
        if plan.check_weights and zero_weight_batch(
            targets.weights, rows.epoch, work.cap, progress.stack
        ):
            return ZERO_WEIGHTS
        lr = plan.lr_init if step.solver == ADAM else floats[LEARNING_RATE]
        now = Step(step.solver, lr, step.momentum, step.nesterov, step.beta_1, step.beta_2,
                   step.epsilon, ints[ADAM_STEPS])  # fmt: skip
        total, adam_steps = run_epoch(data, targets, rows.epoch, net, work, loss, moments, now)
        ints[ADAM_STEPS] = adam_steps
        ints[N_ITER] += 1
        value = total / n_train
        ints[SAMPLES_SEEN] += n_train
        progress.curve[k] = value
        if plan.early_stopping:
            predict(data, validation.rows, net, work, validation.out)
            score = validation_score(validation, progress.stack)
            if math.isinf(score) and score > 0:  # (the weights of the set sum to 0)
                return ZERO_WEIGHTS
            progress.scores[k] = score
            if score < floats[BEST_SCORE] + plan.tol:
                ints[NO_IMPROVEMENT] += 1
            else:
                ints[NO_IMPROVEMENT] = 0
            if score > floats[BEST_SCORE]:
                floats[BEST_SCORE] = score
                best, params = progress.best, net.params
                for q in range(params.shape[0]):
                    best[q] = params[q]
                ints[HAVE_BEST] = 1
        else:
            if value > floats[BEST_LOSS] - plan.tol:
                ints[NO_IMPROVEMENT] += 1
            else:
                ints[NO_IMPROVEMENT] = 0
            if value < floats[BEST_LOSS]:
                floats[BEST_LOSS] = value
        if step.solver != ADAM and plan.schedule == INVSCALING:
            floats[LEARNING_RATE] = plan.lr_init / (ints[SAMPLES_SEEN] + 1.0) ** plan.power_t
        event = EPOCHS_DONE
        if ints[NO_IMPROVEMENT] > plan.n_iter_no_change:
            if step.solver == ADAM or plan.schedule != ADAPTIVE:
                return STOPPED
            if floats[LEARNING_RATE] <= 1e-6:
                return LR_TOO_SMALL
            floats[LEARNING_RATE] /= 5.0
            ints[NO_IMPROVEMENT] = 0
            event = LR_DIVIDED
        if ints[N_ITER] == plan.max_iter:
            return MAX_ITER
    return event


@jit_inline
def no_predict(data, rows, net, work, out):
    """Stands in for ``predict`` where a kernel never validates (``generated``)."""


@jit_inline
def no_score(validation, stack):
    """Stands in for ``validation_score`` where a kernel never validates."""
    return 0.0


@jit_inline
def zero_weight_row(weights, rows, cap, stack):
    """``zero_weight_batch`` for batches of one row (``generated``): a weight of 0."""
    for i in range(rows.shape[0]):
        if weights[rows[i]] == 0:
            return True
    return False


@jit_internal
def zero_weight_batch(weights, rows, cap, stack):
    """Whether a batch of ``rows`` (batches of ``cap``) has sample weights summing to 0:
    scikit-learn's ZeroDivisionError, from np.average of that batch's loss. Summed as
    np.add.reduceat sums each batch: its first weight, plus the pairwise sum of the rest."""
    n = rows.shape[0]
    for start in range(0, n, cap):
        m = min(cap, n - start)
        total = weights[rows[start]] + numpy_sum(weights, rows, start + 1, m - 1, stack)
        if total == 0:
            return True
    return False


@jit_internal
def validation_score(validation, stack):
    """scikit-learn's score of validation.out against validation.Y (``validation.kind``);
    +inf where the validation weights sum to 0 (scikit-learn's ZeroDivisionError)."""
    if validation.kind == R2:
        return r2(validation, stack)
    return accuracy(validation, stack)


@jit_inline
def accuracy(validation, stack):
    """accuracy_score: the (weighted) share of rows whose labels are all right."""
    out, Y, w = validation.out, validation.Y, validation.weights
    n, m = out.shape
    right = validation.right
    for i in range(n):
        if validation.kind == ONE_CLASS:
            ok = True
        elif validation.kind == MULTILABEL:
            ok = True
            for j in range(m):
                ok = ok and (out[i, j] > 0.5) == (Y[i, j] > 0.5)
        elif m == 1:
            ok = (out[i, 0] > 0.5) == (Y[i, 0] == 1)
        else:
            ok = argmax_row(out, i) == Y[i, 0]
        right[i] = 1.0 if ok else 0.0
    if w.shape[0] == 0:  # np.mean of booleans: their count over n, exact
        total = 0.0
        for i in range(n):
            total += right[i]
        return total / n
    # np.average(right, weights=w): sum(right * w) / sum(w), in float64
    for i in range(n):
        right[i] *= w[i]
    scale = weight_sum(w, validation.index, validation.cast, stack)
    if scale == 0:
        return math.inf
    return numpy_sum(right, validation.index, int64(0), n, stack) / scale


@jit_inline
def argmax_row(out, i):
    """np.argmax of row i: the first largest value, or the first NaN."""
    best = 0
    for j in range(out.shape[1]):
        if math.isnan(out[i, j]):
            return j
        if out[i, j] > out[i, best]:
            best = j
    return best


@jit_inline
def r2(validation, stack):
    """r2_score with multioutput="uniform_average", computed in Y's dtype; NaN where a
    prediction is not finite (as scikit-learn's MLP scores such predictions)."""
    out, Y, w = validation.out, validation.Y, validation.weights
    n, m = Y.shape
    dt = Y.dtype.type
    for i in range(n):
        for j in range(m):
            if not math.isfinite(out[i, j]):
                return math.nan
    weighted = w.shape[0] > 0
    scale = dt(n)
    if weighted:
        scale = dt(weight_sum(w, validation.index, validation.cast, stack))
        if scale == 0:
            return math.inf
    cols = validation.right  # scratch: a column of n values
    for j in range(m):
        # the mean of column j (np.average(Y, axis=0, weights=w))
        for i in range(n):
            cols[i] = Y[i, j] * w[i] if weighted else Y[i, j]
        mean = column_sum(cols, validation.index, n, m, stack) / scale
        for i in range(n):
            e = Y[i, j] - dt(out[i, j])
            cols[i] = w[i] * (e * e) if weighted else e * e
        numerator = column_sum(cols, validation.index, n, m, stack)
        for i in range(n):
            e = Y[i, j] - mean
            cols[i] = w[i] * (e * e) if weighted else e * e
        denominator = column_sum(cols, validation.index, n, m, stack)
        if numerator == 0:
            s = dt(1)
        elif denominator == 0:
            s = dt(0)
        else:
            s = dt(1) - numerator / denominator
        validation.per_output[j] = s
    return numpy_sum(validation.per_output, validation.index, int64(0), m, stack) / dt(m)


@jit_inline
def column_sum(cols, index, n, m, stack):
    """The sum of a column of an (n, m) C-ordered array, in NumPy's order along axis 0:
    pairwise for one column, row after row for several."""
    if m == 1:
        return numpy_sum(cols, index, int64(0), n, stack)
    total = cols.dtype.type(0)
    for i in range(n):
        total += cols[i]
    return total


@jit_inline
def weight_sum(w, index, cast, stack):
    """sum(w), as np.sum does it; ``cast``: w was float32, summed in float64, which NumPy
    does one buffer of _CAST_BUFFER values at a time."""
    n = w.shape[0]
    if not cast:
        return numpy_sum(w, index, int64(0), n, stack)
    total = w.dtype.type(0)
    for start in range(0, n, _CAST_BUFFER):
        total += numpy_sum(w, index, start, min(_CAST_BUFFER, n - start), stack)
    return total
