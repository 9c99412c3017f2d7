"""Property tests of the engine over random networks, drawn by Hypothesis.

Each example is an architecture of 1 to 5 weight layers with 1 to 64 units per
layer, a hidden activation, a loss with an output activation it accepts, a
dtype, a batch of 1 to 64 rows, with or without sample weights and L2 penalty.
The data come from ``np.random.RandomState(seed)`` with a drawn seed: standard
normal inputs and targets of the loss's kind, so values stay moderate.

(a) ``Network.forward`` and ``Network.loss_gradient`` equal the naive NumPy
    reference (tests/naive.py), which computes in float64 from the same
    parameters and the same (dtype-rounded) data. Tolerances:

    - Backprop through L <= 5 layers of dot products of length n <= 64 (fan-in,
      fan-out or batch) in precision u makes errors of at most about
      2 L n u = 640 u of the magnitudes summed (the worst case; random errors
      grow like sqrt(n)). ``term_scale`` computes those magnitudes: the same
      backward pass on absolute values, |A|^T |delta|, through |W| and |f'|.
    - float64: u = 1.1e-16, bound ~7e-14; we check 1e-8, relative entrywise
      plus 1e-8 of the largest term scale (observed: <= 2e-15).
    - float32: u = 6e-8, bound ~3.8e-5; we check 1e-4 the same way (observed:
      <= 1.5e-6 of the largest entry over 700 random networks).
    - relu and leaky_relu have a kink at 0: a pre-activation within the
      rounding error of 0 can take the other branch in float32 and change a
      whole delta. Examples with a hidden pre-activation closer to 0 than
      1e-4 (float32) or 1e-12 (float64) of its term scale are assumed away.
    - float32 log_loss clips p at float32's eps (as scikit-learn does), the
      reference at float64's: the reference value is clipped like fastbp's.
    - The loss value likewise, relative to the magnitude of the terms it sums:
      the Poisson deviance y log(y/p) - y + p of a near-perfect fit is a small
      difference of O(1) terms (found by `make fuzz`: a float32 loss of 1.2e-4
      off by 1.3e-4 relative), as is (y - p)^2 where p ~ y.

(b) Predictions are finite, of the dtype, and valid for their output
    activation, for inputs up to 100 times larger.

(c) One step of SGD, ``net.params -= lr * grad`` with lr = 1e-3 / (1 + |grad|_inf)
    (no parameter moves by more than 1e-3, far below the initial weights'
    scale, so the loss's first-order model holds: the decrease is about
    lr |grad|^2 while the second-order term is ~lr^2 |grad|^2 |H|), lowers the
    loss on the batch the gradient came from. The first-order decrease of the
    step actually taken (after rounding the parameters to the dtype) must
    exceed the rounding error of two loss evaluations, 2 L n u |loss|; examples
    where it does not (gradient ~0, e.g. all relu units dead) are assumed away.

Each property runs once per loss/output pair (per output activation for (b)),
so that every pair's code path is covered whatever Hypothesis draws. `make test`
runs a bounded, fixed set of 30 examples for each; `make fuzz` (profile "fuzz",
tests/conftest.py) runs 2000 random ones for each.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from fastbp import Network
from fastbp._tables import CANONICAL, HIDDEN_ACTIVATIONS, LOSS_OUTPUTS, OUTPUT_ACTIVATIONS

import naive

PAIRS = [(loss, out) for loss, outs in LOSS_OUTPUTS.items() for out in outs]
TOL = {np.float64: 1e-8, np.float32: 1e-4}
KINK = {np.float64: 1e-12, np.float32: 1e-4}


@dataclass
class Case:
    sizes: list
    hidden: str
    loss: str
    output: str
    dtype: type
    n: int
    weighted: bool
    alpha: float
    seed: int

    def build(self, x_scale=1.0):
        """The network and its batch; data rounded to the dtype, held in float64."""
        rng = np.random.RandomState(self.seed)
        X = x_scale * rng.normal(size=(self.n, self.sizes[0]))
        k = self.sizes[-1]
        if self.loss == "log_loss" and self.output == "softmax":
            Y = np.eye(k)[rng.randint(k, size=self.n)]
        elif self.loss == "log_loss":
            Y = rng.randint(2, size=(self.n, k)).astype(float)
        elif self.loss == "poisson":
            Y = rng.poisson(1.5, size=(self.n, k)).astype(float)
        else:
            Y = rng.normal(size=(self.n, k))
        sw = rng.uniform(0.1, 3.0, size=self.n) if self.weighted else None
        X, Y = (a.astype(self.dtype).astype(np.float64) for a in (X, Y))
        if sw is not None:
            sw = sw.astype(self.dtype).astype(np.float64)
        net = Network(
            self.sizes, self.hidden, self.output, dtype=self.dtype, random_state=self.seed
        )
        return net, X, Y, sw


@st.composite
def cases(draw, loss, output):
    depth = draw(st.integers(1, 5))  # weight layers
    return Case(
        sizes=draw(st.lists(st.integers(1, 64), min_size=depth + 1, max_size=depth + 1)),
        hidden=draw(st.sampled_from(sorted(HIDDEN_ACTIVATIONS))),
        loss=loss,
        output=output,
        dtype=draw(st.sampled_from([np.float64, np.float32])),
        n=draw(st.integers(1, 64)),
        weighted=draw(st.booleans()),
        alpha=draw(st.sampled_from([0.0, 0.1])),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def term_scale(params, sizes, X, Y, hidden, output, loss, sw, alpha):
    """Per gradient entry, the sum of the magnitudes of the terms it adds up:
    the backward pass of naive.loss_gradient on absolute values."""
    sw = np.ones(len(X)) if sw is None else sw
    S = sw.sum()
    coefs, _ = naive.unpack(np.asarray(params, np.float64), sizes)
    ins, outs = naive.forward(params, sizes, X, hidden, output)
    p = outs[-1]
    if (loss, output) in CANONICAL:  # delta = p - y
        delta = (np.abs(p) + np.abs(Y)) * sw[:, None] / S
    else:
        g = np.abs(naive.dloss_dp(loss, output, Y, p)) * sw[:, None] / S
        if output == "softmax":
            delta = p * (g + (g * p).sum(axis=1, keepdims=True))
        else:
            delta = g * np.abs(naive.f_prime(output, ins[-1]))
    grads_W, grads_b = [], []
    for layer in range(len(coefs) - 1, -1, -1):
        grads_W.insert(0, np.abs(outs[layer]).T @ delta + alpha * np.abs(coefs[layer]) / S)
        grads_b.insert(0, delta.sum(axis=0))
        if layer > 0:
            delta = (delta @ np.abs(coefs[layer]).T) * np.abs(naive.f_prime(hidden, ins[layer - 1]))
    return np.concatenate([g.ravel() for g in grads_W] + grads_b)


def kink_margin(params, sizes, X, hidden, output):
    """The smallest |pre-activation| of a hidden unit, relative to its term scale."""
    coefs, intercepts = naive.unpack(np.asarray(params, np.float64), sizes)
    ins, outs = naive.forward(params, sizes, X, hidden, output)
    margin = np.inf
    for layer in range(len(coefs) - 1):
        scale = np.abs(outs[layer]) @ np.abs(coefs[layer]) + np.abs(intercepts[layer])
        margin = min(margin, (np.abs(ins[layer]) / scale).min())
    return margin


def reference_value(case, params, X, Y, sw):
    """naive's loss, with log_loss probabilities clipped at the dtype's eps as
    fastbp's; and the magnitude of the terms it adds up (its rounding scale)."""
    p = naive.forward(params, case.sizes, X, case.hidden, case.output)[1][-1]
    if case.loss == "log_loss":
        eps = np.finfo(case.dtype).eps
        p = np.clip(p, eps, 1 - eps)
    sw = np.ones(len(X)) if sw is None else sw
    coefs, _ = naive.unpack(np.asarray(params, np.float64), case.sizes)
    per_sample = naive.per_sample_loss(case.loss, case.output, Y, p)
    if case.loss == "squared_error":  # (y - p)^2 = y^2 - 2yp + p^2
        terms = 0.5 * ((np.abs(Y) + np.abs(p)) ** 2).sum(axis=1)
    elif case.loss == "poisson":  # y log(y / p) - y + p: cancels where p ~ y
        ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1) / p), 0.0)
        terms = (np.abs(ylogy) + np.abs(Y) + np.abs(p)).sum(axis=1)
    else:  # log_loss: a sum of non-negative terms
        terms = per_sample
    penalty = 0.5 * case.alpha * sum((W**2).sum() for W in coefs)
    value = (sw * per_sample).sum() + penalty
    scale = (sw * terms).sum() + penalty
    return value / sw.sum(), scale / sw.sum()


@pytest.mark.parametrize("loss,output", PAIRS)
@given(data=st.data())
def test_forward_and_gradient_equal_the_naive_reference(loss, output, data):
    case = data.draw(cases(loss, output), label="case")
    net, X, Y, sw = case.build()
    if case.hidden in ("relu", "leaky_relu") and len(case.sizes) > 2:
        assume(kink_margin(net.params, case.sizes, X, case.hidden, case.output) > KINK[case.dtype])
    tol = TOL[case.dtype]

    out = net.forward(X)
    ref_out = naive.forward(net.params, case.sizes, X, case.hidden, case.output)[1][-1]
    assert out.dtype == case.dtype and out.shape == ref_out.shape
    np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol * np.abs(ref_out).max())

    value, grad = net.loss_gradient(X, Y, case.loss, sample_weight=sw, alpha=case.alpha)
    _, ref_grad = naive.loss_gradient(
        net.params, case.sizes, X, Y, case.hidden, case.output, case.loss, sw, case.alpha
    )
    scale = term_scale(
        net.params, case.sizes, X, Y, case.hidden, case.output, case.loss, sw, case.alpha
    )
    assert grad.dtype == case.dtype and grad.shape == net.params.shape
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol * scale.max())
    ref_value, value_scale = reference_value(case, net.params, X, Y, sw)
    np.testing.assert_allclose(value, ref_value, rtol=tol, atol=tol * value_scale)


@pytest.mark.parametrize("output", sorted(OUTPUT_ACTIVATIONS))
@given(data=st.data(), x_scale=st.sampled_from([1.0, 10.0, 100.0]))
def test_predictions_are_finite(output, data, x_scale):
    loss = next(loss for loss, out in PAIRS if out == output)
    case = data.draw(cases(loss, output), label="case")
    net, X, _, _ = case.build(x_scale)
    out = net.forward(X)
    assert out.dtype == case.dtype and out.shape == (case.n, case.sizes[-1])
    assert np.isfinite(out).all()
    if case.output in ("logistic", "softmax"):
        assert ((out >= 0) & (out <= 1)).all()
    if case.output == "softmax":
        eps = np.finfo(case.dtype).eps
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=4 * case.sizes[-1] * eps)
    if case.output == "exp":
        assert (out >= 0).all()


@pytest.mark.parametrize("loss,output", PAIRS)
@given(data=st.data())
def test_one_sgd_step_lowers_the_loss_of_its_batch(loss, output, data):
    case = data.draw(cases(loss, output), label="case")
    net, X, Y, sw = case.build()
    value, grad = net.loss_gradient(X, Y, case.loss, sample_weight=sw, alpha=case.alpha)
    lr = 1e-3 / (1 + np.abs(grad).max())
    before = net.params.astype(np.float64)
    net.params -= lr * grad
    step = before - net.params  # the step taken, after rounding to the dtype
    predicted = float(grad.astype(np.float64) @ step)  # first-order decrease
    rounding = 2 * (len(case.sizes) - 1) * max(case.sizes) * np.finfo(case.dtype).eps * abs(value)
    note(f"loss {value!r}, predicted decrease {predicted!r}, rounding {rounding!r}")
    assume(predicted > rounding)
    after, _ = net.loss_gradient(X, Y, case.loss, sample_weight=sw, alpha=case.alpha)
    note(f"loss after the step {after!r}")
    assert after < value
