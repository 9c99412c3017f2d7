"""Where everything lives in the flat buffers.

``params`` (and every buffer laid out like it: the gradient, momentum and Adam
moments) holds all coefs raveled in C order, layer by layer, then all
intercepts, layer by layer: the order scikit-learn packs them for L-BFGS.

The work buffers of a batch of at most ``cap`` rows are flat too: ``acts``
holds out_l for every layer l = 0..L (layer 0 is the input), each block
``cap * sizes[l]`` long; ``deltas`` holds delta_l for l = 1..L. A batch of n
rows uses the first n * sizes[l] entries of each block, viewed as (n, sizes[l]).

The helpers below return views (no copies, no allocation) and are used both by
the kernels and by the Python API, so there is one definition of the layout.
"""

import numpy as np

from ._config import jit


@jit
def n_params(sizes):
    total = 0
    for l in range(len(sizes) - 1):
        total += sizes[l] * sizes[l + 1] + sizes[l + 1]
    return total


@jit
def coef_view(buf, sizes, layer):
    """Weights of layer ``layer``: shape (sizes[layer], sizes[layer + 1])."""
    off = 0
    for l in range(layer):
        off += sizes[l] * sizes[l + 1]
    size = sizes[layer] * sizes[layer + 1]
    return buf[off : off + size].reshape((sizes[layer], sizes[layer + 1]))


@jit
def intercept_view(buf, sizes, layer):
    """Biases of layer ``layer``: shape (sizes[layer + 1],)."""
    off = 0
    for l in range(len(sizes) - 1):
        off += sizes[l] * sizes[l + 1]
    for l in range(layer):
        off += sizes[l + 1]
    return buf[off : off + sizes[layer + 1]]


@jit
def n_coefs(sizes):
    """Number of weights (the intercepts follow them in the buffer)."""
    total = 0
    for l in range(len(sizes) - 1):
        total += sizes[l] * sizes[l + 1]
    return total


@jit
def act_view(acts, sizes, layer, n):
    """out_layer for a batch of ``n`` rows: shape (n, sizes[layer])."""
    cap = acts.shape[0] // sizes.sum()
    off = 0
    for l in range(layer):
        off += cap * sizes[l]
    return acts[off : off + n * sizes[layer]].reshape((n, sizes[layer]))


@jit
def delta_view(deltas, sizes, layer, n):
    """delta_layer (layer >= 1) for a batch of ``n`` rows: shape (n, sizes[layer])."""
    cap = deltas.shape[0] // (sizes.sum() - sizes[0])
    off = 0
    for l in range(1, layer):
        off += cap * sizes[l]
    return deltas[off : off + n * sizes[layer]].reshape((n, sizes[layer]))


def work_buffers(sizes, cap, dtype):
    """Allocate the activation and delta buffers for batches of ``cap`` rows."""
    acts = np.empty(cap * int(sizes.sum()), dtype=dtype)
    deltas = np.empty(cap * int(sizes[1:].sum()), dtype=dtype)
    return acts, deltas
