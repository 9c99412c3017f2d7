"""Every signature of every compiled kernel fastbp can reach, as example arguments.

Kernels take the protocol's groups (``protocol``), whose builders give each field
one type whatever the network, the data (dense or CSR, read-only or not) or the
solver; so each kernel has one signature per dtype: that of its examples here.
``fastbp compile`` (``fastbp/_compile.py``) compiles them all, so that no fit
compiles. tests/test_compile.py fits a grid of configurations in a fresh process
and fails if anything compiles: a new path with a new signature is added here.

``CALLEES`` are the kernels only other kernels call (``config.jit_internal``);
``CALLERS`` the ones Python calls. The set-up compiles each kernel after the
kernels it calls (``calls``), so that it loads them from the cache, and no two
processes of the set-up compile the same kernel. Of the kernels generated per
architecture (``generated``), those of ``GENERATED`` are compiled too; any other
compiles at its first fit, with its callees here loaded.
"""

import numba
import numpy as np

from . import (
    backward,
    epochs,
    fits,
    forward,
    generated,
    lbfgs,
    optimizers,
    passes,
    protocol,
    shared,
    shuffle,
)
from .codes import IDENTITY, LOGISTIC, RELU, SGD, SOFTPLUS, SQUARED_ERROR
from .layout import B_OFF, n_params

DTYPES = (np.float64, np.float32)

# (in the order the set-up starts them, when the kernels they call are ready)
CALLEES = (
    optimizers.stepped,
    backward.backward_pass,
    forward.forward_pass,
    epochs.take_step,
    passes.batch_loss_grad,
    backward.finish_gradient,
    optimizers.swept,
    shared.gather_rows,
    shared.l2_term,
    shared.exact_reciprocal,
    shared.batch_value,
    shuffle._temper,
    shuffle._twist,
    fits.numpy_sum,
    fits.zero_weight_batch,
    fits.validation_score,
    lbfgs.advance,
)
CALLERS = (
    epochs.run_epoch,
    passes.loss_gradient,
    passes.predict,
    shuffle.shuffle,
    fits.run_epochs,
    lbfgs.run_lbfgs,
)

# (layer sizes, hidden, output activation, loss) of the generated kernels compiled at
# set-up: the 1-2-1 networks of the seeds (softplus) and of bench/'s seed case
# (logistic), trained by plain SGD on one row at a time.
GENERATED = (
    ((1, 2, 1), SOFTPLUS, IDENTITY, SQUARED_ERROR),
    ((1, 2, 1), LOGISTIC, IDENTITY, SQUARED_ERROR),
)


def kernels():
    """Every kernel the set-up compiles, callees first: CALLEES, CALLERS, then the
    kernels of GENERATED (written to their files now, if missing)."""
    made = [generated.kernel(*key, whole=whole) for key in GENERATED for whole in (False, True)]
    return CALLEES + CALLERS + tuple(made)


def calls(kernel):
    """The kernels of CALLEES and CALLERS that ``kernel`` calls, directly or through the
    functions inlined into it (``config.jit_inline``), found in their code's global
    names, and for a generated ``run_epochs``, its module's ``run_epoch``."""
    found, seen, todo = set(), set(), [kernel]
    while todo:
        func = todo.pop().py_func
        for name in func.__code__.co_names:
            callee = func.__globals__.get(name)
            if any(callee is c for c in CALLEES + CALLERS):
                found.add(callee)
            elif hasattr(callee, "py_func") and callee not in seen:  # an inlined kernel
                seen.add(callee)
                todo.append(callee)
    if kernel.py_func.__name__ == "run_epochs" and kernel is not fits.run_epochs:
        found.add(kernel.py_func.__globals__["run_epoch"])
    found.discard(kernel)
    return found


def examples(kernel):
    """Arguments of every signature of ``kernel`` (one of CALLEES or CALLERS) fastbp
    calls it with: a list of tuples."""
    if kernel in (shuffle.shuffle, shuffle._temper, shuffle._twist):
        return [_shuffle_examples()[kernel]]
    if kernel not in CALLEES + CALLERS:  # a generated kernel: those of its namesake
        kernel = fits.run_epochs if kernel.py_func.__name__ == "run_epochs" else epochs.run_epoch
    found = {}  # (by signature: a kernel of scalars has one for both dtypes)
    for dtype in DTYPES:
        for args in _examples(dtype)[kernel]:
            found.setdefault(tuple(numba.typeof(a) for a in args), args)
    return list(found.values())


def _examples(dtype):
    """The kernels' example arguments in ``dtype``: a list of tuples per kernel."""
    sizes, cap = (2, 3, 1), 2
    data = protocol.data(np.zeros((cap, sizes[0]), dtype=dtype), dtype)
    rows = np.arange(cap, dtype=np.int64)
    targets = protocol.targets(np.zeros((cap, sizes[-1]), dtype=dtype), np.ones(cap, dtype=dtype))
    params = np.zeros(n_params(sizes), dtype=dtype)
    net = protocol.net(params, RELU, IDENTITY)
    work = protocol.work(sizes, cap, dtype)
    loss = protocol.loss(SQUARED_ERROR)
    moments = protocol.moments(np.zeros((2, params.shape[0]), dtype=dtype))
    step = protocol.step(SGD, 0.1)
    n = min(cap, rows.shape[0])  # rows in a batch
    n_coefs = work.table[0, B_OFF]
    S = 1.0  # a batch's summed sample weights: a float64 in either dtype
    w = params[0]  # a weight, an activation, a delta, their step's settings: the dtype's
    out = np.empty((cap, sizes[-1]), dtype=dtype)
    # whole fits: early stopping's score in float64, or in float32 (r2_score of float32
    # y and predictions)
    whole = (data, targets, protocol.epoch_rows(rows, rows, rows), net, work, loss, moments, step)
    plan = protocol.plan(1, 1, 0.0, 10, True, 0, 0.1, 0.5, True, False)
    ints, floats = np.zeros(5, dtype=np.int64), np.zeros(3)
    state = protocol.progress(ints, floats, np.zeros(1), np.zeros(1), params.copy())
    shuffling = protocol.shuffling(*_shuffle_examples()[shuffle.shuffle][1:])
    validations = [
        protocol.validation(fits.R2, rows, np.zeros((cap, 1), dtype=t), None, False, out)
        for t in sorted({np.dtype(np.float64), np.dtype(dtype)}, key=str)
    ]
    return {
        epochs.run_epoch: [(data, targets, rows, net, work, loss, moments, step)],
        fits.run_epochs: [(*whole, plan, state, v, shuffling) for v in validations],
        fits.validation_score: [(v, state.stack) for v in validations],
        # (scratch and weights of a validation set, or a batch's weights)
        fits.numpy_sum: [
            (a, v.index, 0, n, state.stack) for v in validations for a in (v.right, v.weights)
        ]
        + [(targets.weights, rows, 0, n, state.stack)],
        fits.zero_weight_batch: [(targets.weights, rows, n, state.stack)],
        passes.loss_gradient: [(data, targets, rows, net, work, loss)],
        lbfgs.run_lbfgs: [(data, targets, rows, net, work, loss, lbfgs.start(params, 1, 1, 0.0))],
        lbfgs.advance: [(lbfgs.start(params, 1, 1, 0.0),)],
        passes.predict: [(data, rows, net, work, out)],
        backward.backward_pass: [(net, work, n, n < 0)],
        passes.batch_loss_grad: [(data, targets, rows, 0, n, net, work, loss.code, n < 0)],
        forward.forward_pass: [(net, work, n)],
        epochs.take_step: [(params, work.grad, moments, n_coefs, S, loss.alpha, step, step.t)],
        backward.finish_gradient: [(params, work.grad, n_coefs, loss.alpha, S)],
        optimizers.stepped: [(w, w, w, w, w)],
        optimizers.swept: [(w, w, w, loss.alpha, w, w, w, w)],
        # as the generated kernels call them: offsets and codes as int64, S a float
        shared.gather_rows: [(data, rows, n, n, n, work.acts)],
        shared.l2_term: [(params, n, loss.alpha, S)],
        shared.exact_reciprocal: [(S,)],
        shared.batch_value: [(S, S, S, n, loss.scale)],
    }


def _shuffle_examples():
    # (fastbp._shuffle.Shuffler: numpy's MT19937 state, key and position, as uint32)
    state, out = np.zeros(shuffle.STATE_WORDS + 1, dtype=np.uint32), np.zeros(0, dtype=np.uint32)
    return {
        shuffle.shuffle: (np.arange(2, dtype=np.int64), state, out),
        shuffle._temper: (state, np.int64(0), out),
        shuffle._twist: (state,),
    }
