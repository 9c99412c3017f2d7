"""A naive NumPy reference of forward, loss and gradient, written for reading.

Independent of the kernels: plain per-layer matrices, the textbook formulas,
float64 throughout (inputs are upcast), no buffers shared with fastbp.
"""

import numpy as np


def unpack(params, sizes):
    """Split a flat parameter vector into per-layer (W, b) lists."""
    coefs, intercepts, pos = [], [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        coefs.append(params[pos : pos + fan_in * fan_out].reshape(fan_in, fan_out))
        pos += fan_in * fan_out
    for fan_out in sizes[1:]:
        intercepts.append(params[pos : pos + fan_out])
        pos += fan_out
    return coefs, intercepts


def f(name, z):
    if name == "identity":
        return z
    if name == "logistic":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "softplus":
        return np.log1p(np.exp(z))
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z)
    if name == "exp":
        return np.exp(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise KeyError(name)


def f_prime(name, z):
    """Derivative of an element-wise activation at the pre-activation z."""
    if name == "identity":
        return np.ones_like(z)
    if name == "logistic":
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "softplus":
        return 1 / (1 + np.exp(-z))
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    if name == "exp":
        return np.exp(z)
    raise KeyError(name)


def forward(params, sizes, X, hidden, output):
    """Return the pre-activations and outputs of every layer."""
    coefs, intercepts = unpack(np.asarray(params, float), sizes)
    outs, ins = [np.asarray(X, float)], []
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        z = outs[-1] @ W + b
        ins.append(z)
        last = layer == len(coefs) - 1
        outs.append(f(output if last else hidden, z))
    return ins, outs


def per_sample_loss(name, output, y, p):
    if name == "squared_error":
        return 0.5 * ((y - p) ** 2).sum(axis=1)
    if name == "log_loss":
        eps = np.finfo(float).eps
        p = np.clip(p, eps, 1 - eps)
        if output == "logistic":
            return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1)
        return -(y * np.log(p)).sum(axis=1)
    if name == "poisson":
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / p), 0.0)
        return (ylogy - y + p).sum(axis=1)
    raise KeyError(name)


def dloss_dp(name, output, y, p):
    """Derivative of the per-sample loss with respect to each output p_k."""
    if name == "squared_error":
        return p - y
    if name == "log_loss":
        if output == "logistic":
            return -y / p + (1 - y) / (1 - p)
        return -y / p
    if name == "poisson":
        return 1 - y / p
    raise KeyError(name)


def loss_gradient(params, sizes, X, y, hidden, output, loss, sw=None, alpha=0.0):
    """The loss (1/S) sum_i s_i l_i + alpha/2 |W|^2 / S and its gradient."""
    y = np.asarray(y, float).reshape(len(X), -1)
    sw = np.ones(len(X)) if sw is None else np.asarray(sw, float)
    S = sw.sum()
    coefs, _ = unpack(np.asarray(params, float), sizes)
    ins, outs = forward(params, sizes, X, hidden, output)
    p = outs[-1]
    value = (sw * per_sample_loss(loss, output, y, p)).sum() / S
    value += 0.5 * alpha * sum((W**2).sum() for W in coefs) / S

    # Output delta: dE/dout * f'(in), through the softmax Jacobian if needed.
    g = dloss_dp(loss, output, y, p) * sw[:, None] / S
    if output == "softmax":
        delta = p * (g - (g * p).sum(axis=1, keepdims=True))
    else:
        delta = g * f_prime(output, ins[-1])

    grads_W, grads_b = [], []
    for layer in range(len(coefs) - 1, -1, -1):
        grads_W.insert(0, outs[layer].T @ delta + alpha * coefs[layer] / S)
        grads_b.insert(0, delta.sum(axis=0))
        if layer > 0:  # delta_k = (sum_i delta_i w_ki) f'(in_k)
            delta = (delta @ coefs[layer].T) * f_prime(hidden, ins[layer - 1])
    grad = np.concatenate([g.ravel() for g in grads_W] + grads_b)
    return value, grad
