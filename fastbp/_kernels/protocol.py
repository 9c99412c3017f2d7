"""How kernels are called: a few named groups of arguments, each built by one function.

A kernel takes the groups it needs, in this order, and reads their fields by name
(``net.params``, ``work.acts``, ``step.lr``):

    data      X's rows: dense, or CSR                          ``data(X, dtype)``
    targets   Y and the sample weights                         ``targets(Y, weights)``
    rows      an int64 array of row numbers (the batch order)
    net       the parameter buffer and the activation codes   ``net(params, hidden, output)``
    work      the layer table and the buffers of a batch       ``work(sizes, cap, dtype)``
    loss      the loss's code, L2 penalty and reporting scale  ``loss(code, alpha, scale)``
    moments   the optimizer's buffers, laid out like params    ``moments(state)``
    step      the optimizer's settings for the next steps      ``step(...)``

and the whole-fit kernels (``fits``), after ``step``:

    plan        the fit's settings and this call's number of epochs  ``plan(...)``
    progress    what changes from epoch to epoch                    ``progress(...)``
    validation  early stopping's validation rows and score          ``validation(...)``
    shuffling   the RandomState's MT19937 state                     ``shuffling(...)``

(``rows`` is then an ``EpochRows``: ``epoch_rows(...)``.)

A new setting is one field of one group, given by its builder. Each field always
has the same type (the builders convert), so that the kernels compile once per
dtype, at set-up (``signatures``): the arrays kernels only read (X, Y, the
weights) are handed in as read-only views, so that a caller's read-only array (a
memory map) is the same type as any other.
The groups are namedtuples: Numba passes them as structs of their fields, and
with reference counting off (``config``) handing a kernel a group of arrays
allocates nothing.
"""

from collections import namedtuple

import numba
import numpy as np
import scipy.sparse as sp

from .config import BLAS_MIN_FLOPS
from .layout import layer_table
from .products import available

Data = namedtuple("Data", "dense values indices indptr")
Data.__doc__ = """X's rows. Dense: ``dense`` (n, n_features) C-ordered, the rest empty.
CSR: ``values``, ``indices``, ``indptr`` (int64), and ``dense`` of shape (0, 0)."""

Targets = namedtuple("Targets", "Y weights")
Targets.__doc__ = "Y (n, n_outputs) C-ordered and the sample weights (n,), in the net's dtype."

Net = namedtuple("Net", "params hidden output")
Net.__doc__ = """The flat parameter buffer (all coefs, then all intercepts: ``layout``)
and the codes of the hidden and output activations."""

Work = namedtuple("Work", "table cap acts deltas grad tmp own_products stack")
Work.__doc__ = """For batches of up to ``cap`` rows: the layer table (``layout``), the
activations and deltas of every layer, a gradient laid out like the params,
scratch space as large as the largest weight matrix, whether small products
are computed in BLAS's order without BLAS (``products``), and scratch for NumPy's
sums (``sums.numpy_sum``)."""

Loss = namedtuple("Loss", "code alpha scale")
Loss.__doc__ = """The loss's code, the L2 penalty alpha, and the factor applied to the
loss as reported (scikit-learn averages squared_error over the outputs)."""

Moments = namedtuple("Moments", "first second")
Moments.__doc__ = """The optimizer's buffers, laid out like the params: SGD's velocity
(twice; never read when momentum is 0), or Adam's first and second moments."""

Step = namedtuple("Step", "solver lr momentum nesterov beta_1 beta_2 epsilon t")
Step.__doc__ = """The optimizer's code and settings for an epoch's steps, and ``t``,
the number of Adam steps taken before it."""


EpochRows = namedtuple("EpochRows", "train order epoch split")
EpochRows.__doc__ = """The rows an epoch trains on: ``epoch`` = ``train[order]`` when ``split``
(early stopping held rows out), else ``order`` itself; ``order`` is shuffled in place."""

Plan = namedtuple(
    "Plan",
    "epochs max_iter tol n_iter_no_change early_stopping schedule lr_init power_t shuffle"
    " check_weights",
)
Plan.__doc__ = """A whole fit's settings (scikit-learn's parameters of the same names;
``schedule`` a code of ``fits``) and ``epochs``, the most this call runs; ``shuffle``:
the kernel shuffles the row order; ``check_weights``: some sample weights are <= 0."""

Progress = namedtuple("Progress", "ints floats curve scores best stack")
Progress.__doc__ = """What a whole fit changes from epoch to epoch: ``ints`` and ``floats``
(int64 and float64, by the indices of ``fits``), each epoch's loss and validation
score (``curve``, ``scores``, one per epoch of the call), the best weights so far,
and scratch for sums (``fits.numpy_sum``)."""

Validation = namedtuple("Validation", "kind rows Y weights cast out right per_output index")
Validation.__doc__ = """Early stopping's validation set: the score's ``kind`` (``fits``),
the rows of X, their targets ``Y`` (in the dtype the score is computed in) and
weights (empty: none; ``cast``: they were float32, summed in float64), buffers for
the outputs and two scratch columns, and ``index`` = arange, as long as the longest."""

Lbfgs = namedtuple(
    "Lbfgs",
    "x g t r d z q alpha x_evaluated g_evaluated S Y rho curve ints floats"
    " maxiter maxfun pgtol tol maxls",
)
Lbfgs.__doc__ = """An L-BFGS run (``lbfgs``): the point x and its gradient g, the point and
gradient a line search started from (t, r), the direction d and z = x + d,
scratch (q, alpha), the point last evaluated and its gradient, the m pairs (S, Y)
and their 1 / s'y, the losses of the iterations of a call, the state by the
indices of ``lbfgs``, and the settings (scipy's names)."""

Shuffling = namedtuple("Shuffling", "state out")
Shuffling.__doc__ = """An MT19937 state as uint32 (key, then position) and scratch for
624 outputs (``shuffle.shuffle``)."""


def read_only(a):
    """A read-only view of array ``a`` (``a`` itself if it is one): what kernels only
    read is handed in so, one type whatever the caller's array."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


# The empty fields of dense and of CSR data, per dtype: made once.
_NO_INT = read_only(np.empty(0, dtype=np.int64))
_NONE = {
    np.dtype(t): (read_only(np.empty((0, 0), dtype=t)), read_only(np.empty(0, dtype=t)))
    for t in (np.float32, np.float64)
}


def data(X, dtype):
    """X (dense or sparse) as the kernels read it; a copy only where needed."""
    no_dense, no_values = _NONE[np.dtype(dtype)]
    if sp.issparse(X):
        X = X.tocsr()
        return Data(
            no_dense,
            read_only(np.ascontiguousarray(X.data, dtype=dtype)),
            read_only(np.ascontiguousarray(X.indices, dtype=np.int64)),
            read_only(np.ascontiguousarray(X.indptr, dtype=np.int64)),
        )
    return Data(read_only(np.ascontiguousarray(X, dtype=dtype)), no_values, _NO_INT, _NO_INT)


def dense(X):
    """``data`` of a dense X already of the kernels' dtype (a C-ordered copy if it is
    not C-ordered): ``data`` without its conversions."""
    return Data(read_only(np.ascontiguousarray(X)), _NONE[X.dtype][1], _NO_INT, _NO_INT)


def targets(Y, weights):
    return Targets(read_only(Y), read_only(weights))


def net(params, hidden, output):
    """``params`` writable (training writes them in place; for a read-only buffer, the
    caller copies)."""
    return Net(params, int(hidden), int(output))


def work(sizes, cap, dtype):
    """New work buffers for batches of up to ``cap`` rows of a network of ``sizes``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    n_params = int((sizes[:-1] * sizes[1:]).sum() + sizes[1:].sum())
    largest = int((sizes[:-1] * sizes[1:]).max())
    # (which BLAS is loaded is found once per process, in milliseconds: not for
    # networks whose kernels make no BLAS call)
    own = np.dtype(dtype) == np.float64 and cap * largest >= BLAS_MIN_FLOPS and available()
    return Work(
        layer_table(sizes, cap),
        int(cap),
        np.empty(cap * int(sizes.sum()), dtype=dtype),
        np.empty(cap * int(sizes[1:].sum()), dtype=dtype),
        np.empty(n_params, dtype=dtype),
        np.empty(largest, dtype=dtype),
        bool(own),
        np.zeros(256),
    )


def loss(code, alpha=0.0, scale=1.0):
    return Loss(int(code), float(alpha), float(scale))


def moments(state):
    """The rows of an optimizer state array (1 or 2, n_params)."""
    return Moments(state[0], state[-1])


def step(solver, lr, momentum=0.0, nesterov=False, beta_1=0.9, beta_2=0.999, epsilon=1e-8, t=0):
    return Step(
        int(solver),
        float(lr),
        float(momentum),
        bool(nesterov),
        float(beta_1),
        float(beta_2),
        float(epsilon),
        int(t),
    )


def epoch_rows(train, order, epoch):
    return EpochRows(train, order, epoch, epoch is not order)


def plan(epochs, max_iter, tol, n_iter_no_change, early_stopping, schedule, lr_init, power_t,
         shuffle, check_weights):  # fmt: skip
    return Plan(
        int(epochs),
        int(max_iter),
        float(tol),
        float(n_iter_no_change),
        bool(early_stopping),
        int(schedule),
        float(lr_init),
        float(power_t),
        bool(shuffle),
        bool(check_weights),
    )


def progress(ints, floats, curve, scores, best):
    return Progress(ints, floats, curve, scores, best, np.zeros(256))


_NO_WEIGHTS = {np.dtype(t): read_only(np.empty(0, dtype=t)) for t in (np.float32, np.float64)}


def validation(kind, rows, Y, weights, cast, out):
    """``Y`` 2-D in the score's dtype, ``weights`` in that dtype or None, ``out`` the
    outputs' buffer (len(rows), n_outputs) in the network's dtype."""
    n = max(rows.shape[0], Y.shape[1], 1)
    return Validation(
        int(kind),
        rows,
        read_only(np.ascontiguousarray(Y)),
        _NO_WEIGHTS[Y.dtype] if weights is None else read_only(weights.astype(Y.dtype)),
        bool(cast),
        out,
        np.empty(rows.shape[0], dtype=Y.dtype),
        np.empty(Y.shape[1], dtype=Y.dtype),
        read_only(np.arange(n, dtype=np.int64)),
    )


def lbfgs(x0, m, maxiter, maxfun, pgtol, tol, maxls, ints, floats, curve=64):
    """An L-BFGS run from x0 with ``m`` corrections, its state ``ints`` and ``floats``
    (``lbfgs.start`` makes them); the losses of up to ``curve`` iterations kept per call."""
    n = x0.shape[0]
    # empty, not zeros: every entry is written before it is read (a pair's row of S
    # and Y once the pair is kept), and zeroing the m pairs of a large network was
    # a visible part of a fit's fixed cost (tests/test_lbfgs.py runs on NaNs)
    return Lbfgs(
        np.array(x0, dtype=np.float64),
        *(np.empty(n) for _ in range(6)),  # g t r d z q
        np.empty(m),  # alpha
        np.empty(n),
        np.empty(n),
        np.empty((m, n)),
        np.empty((m, n)),
        np.empty(m),
        np.empty(curve),
        ints,
        floats,
        int(maxiter),
        int(maxfun),
        float(pgtol),
        float(tol),
        int(maxls),
    )


def shuffling(state, out):
    return Shuffling(state, out)


def entry_point(kernel, args):
    """The compiled function ``kernel`` runs for ``args``, to call with arguments of
    exactly their types, or ``kernel`` itself if there is none (plain Python, or not
    compiled for them yet). Numba's dispatcher types every argument on every call,
    which for these groups costs a visible share of a small network's epoch; the
    entry point skips that. It trusts its arguments' types: the caller keeps one per
    kernel and dtype, and the builders above give every field one type."""
    overloads = getattr(kernel, "overloads", None)
    if overloads is None:  # NUMBA_DISABLE_JIT
        return kernel
    compiled = overloads.get(tuple(numba.typeof(a) for a in args))
    return kernel if compiled is None else compiled.entry_point
