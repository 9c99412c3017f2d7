"""Where everything lives in the flat buffers.

``params`` (and every buffer laid out like it: the gradient, momentum and Adam
moments) holds all coefs raveled in C order, layer by layer, then all
intercepts, layer by layer: the order scikit-learn packs them for L-BFGS.

The work buffers of a batch of at most ``cap`` rows are flat too: ``acts``
holds out_l for every layer l = 0..L (layer 0 is the input), each block
``cap * sizes[l]`` long; ``deltas`` holds delta_l for l = 1..L. A batch of n
rows uses the first n * sizes[l] entries of each block, row-major.

``layer_table`` writes all those offsets once, one row per layer of weights,
so the kernels index the flat buffers directly instead of building views per
batch (which costs more than the arithmetic of a small network).
"""

import numpy as np

# Columns of the layer table.
W_OFF, B_OFF, FAN_IN, FAN_OUT, IN_OFF, OUT_OFF, DELTA_OFF = range(7)


def n_coefs(sizes):
    return int(sum(int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:])))


def n_params(sizes):
    return n_coefs(sizes) + int(sum(int(s) for s in sizes[1:]))


def layer_table(sizes, cap):
    """Offsets of layer l's weights, biases, input, output and delta blocks.

    Row l describes the weights between layers l and l + 1: its weights at
    params[W_OFF:...] (FAN_IN x FAN_OUT), biases at params[B_OFF:...], its
    input out_l at acts[IN_OFF:...], its output out_{l+1} at acts[OUT_OFF:...]
    and delta_{l+1} at deltas[DELTA_OFF:...], for batches of up to ``cap`` rows.
    """
    sizes = [int(s) for s in sizes]
    n_layers = len(sizes) - 1
    table = np.empty((n_layers, 7), dtype=np.int64)
    w = 0
    b = n_coefs(sizes)
    a = 0
    d = 0
    for l in range(n_layers):
        k, m = sizes[l], sizes[l + 1]
        table[l] = (w, b, k, m, a, a + cap * k, d)
        w += k * m
        b += m
        a += cap * k
        d += cap * m
    return table


def coef_view(buf, sizes, layer):
    """Weights of layer ``layer`` in ``buf``: shape (sizes[layer], sizes[layer + 1])."""
    off = n_coefs(sizes[: layer + 1])
    k, m = int(sizes[layer]), int(sizes[layer + 1])
    return buf[off : off + k * m].reshape(k, m)


def intercept_view(buf, sizes, layer):
    """Biases of layer ``layer`` in ``buf``: shape (sizes[layer + 1],)."""
    off = n_coefs(sizes) + int(sum(int(s) for s in sizes[1 : layer + 1]))
    return buf[off : off + int(sizes[layer + 1])]
