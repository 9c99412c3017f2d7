"""The seeds' worked examples, each its own test (../shared/seeds/)."""

import math

import numpy as np
import pytest

from fastbp import Network

# --- seed 000: input -> 2 softplus neurons -> identity output, trained on SSR ---
# Observed data and the parameter values of the worked example (StatQuest's
# dosage network, which seed 000 follows): top neuron w1, b1; bottom neuron
# w2, b2; output weights w3, w4 and bias b3.
X0 = np.array([[0.0], [0.5], [1.0]])
Y0 = np.array([0.0, 1.0, 0.0])
W1, B1, W2, B2, W3, W4, B3 = 3.34, -1.43, -3.53, 0.57, -1.22, -2.30, 2.61


def seed000_network():
    net = Network([1, 2, 1], activation="softplus", output_activation="identity")
    net.coefs[0][0] = [W1, W2]
    net.intercepts[0][:] = [B1, B2]
    net.coefs[1][:, 0] = [W3, W4]
    net.intercepts[1][0] = B3
    return net


def softplus(x):
    return math.log(1 + math.exp(x))


def test_seed000_prediction_and_ssr():
    net = seed000_network()
    pred = net.forward(X0)[:, 0]
    by_hand = [softplus(x * W1 + B1) * W3 + softplus(x * W2 + B2) * W4 + B3 for x in X0[:, 0]]
    np.testing.assert_allclose(pred, by_hand, rtol=1e-12, atol=1e-14)
    ssr = sum((o - p) ** 2 for o, p in zip(Y0, by_hand))
    loss, _ = net.loss_gradient(X0, Y0)
    # loss = (1/3) sum 1/2 r^2, so SSR = 6 * loss
    assert 6 * loss == pytest.approx(ssr, rel=1e-14)


def test_seed000_hidden_gradients_match_the_closed_forms():
    net = seed000_network()
    _, grad = net.loss_gradient(X0, Y0)
    grad_ssr = 6 * grad
    d = {"w1": 0.0, "b1": 0.0, "w2": 0.0, "b2": 0.0, "w3": 0.0, "w4": 0.0, "b3": 0.0}
    for x, observed in zip(X0[:, 0], Y0):
        x1, x2 = x * W1 + B1, x * W2 + B2
        predicted = softplus(x1) * W3 + softplus(x2) * W4 + B3
        dssr_dpred = -2 * (observed - predicted)
        s1 = math.exp(x1) / (1 + math.exp(x1))  # dy1/dx1, the softplus derivative
        s2 = math.exp(x2) / (1 + math.exp(x2))
        d["w1"] += dssr_dpred * W3 * s1 * x
        d["b1"] += dssr_dpred * W3 * s1 * 1
        d["w2"] += dssr_dpred * W4 * s2 * x
        d["b2"] += dssr_dpred * W4 * s2 * 1
        d["w3"] += dssr_dpred * softplus(x1)
        d["w4"] += dssr_dpred * softplus(x2)
        d["b3"] += dssr_dpred
    # layout: coefs[0] (w1, w2), coefs[1] (w3, w4), intercepts[0] (b1, b2), intercepts[1] (b3)
    expected = [d["w1"], d["w2"], d["w3"], d["w4"], d["b1"], d["b2"], d["b3"]]
    np.testing.assert_allclose(grad_ssr, expected, rtol=1e-12, atol=1e-15)


def test_seed000_gradient_descent_lowers_ssr():
    net = seed000_network()
    net.params += np.array([0.3, -0.2, 0.4, 0.1, -0.5, 0.2, 0.3])  # start off the optimum
    first, _ = net.loss_gradient(X0, Y0)
    for _ in range(200):
        _, grad = net.loss_gradient(X0, Y0)
        net.params -= 0.1 * grad
    last, _ = net.loss_gradient(X0, Y0)
    assert last < 0.5 * first


# --- seed 001: the 2-2-2 logistic network of the step-by-step tutorial ---
# Published values, each to the digits the tutorial prints.
TUTORIAL = {
    "net_h1": 0.3775,
    "out_h1": 0.593269992,
    "out_h2": 0.596884378,
    "net_o1": 1.105905967,
    "out_o1": 0.75136507,
    "out_o2": 0.772928465,
    "E_o1": 0.274811083,
    "E_o2": 0.023560026,
    "E_total": 0.298371109,
    "w5": 0.35891648,
    "w6": 0.408666186,
    "w7": 0.511301270,
    "w8": 0.561370121,
    "w1": 0.149780716,
    "w2": 0.19956143,
    "w3": 0.24975114,
    "w4": 0.29950229,
}


def matches_published(value, published):
    """True when ``value`` rounds to ``published`` at the digits it was printed with."""
    text = repr(published)
    digits = len(text.split(".")[1]) if "." in text else 0
    return round(value, digits) == published


def tutorial_network():
    net = Network([2, 2, 2], activation="logistic", output_activation="logistic")
    net.coefs[0][:] = [[0.15, 0.25], [0.20, 0.30]]  # [i1->h1 w1, i1->h2 w3], [i2->h1 w2, i2->h2 w4]
    net.coefs[1][:] = [[0.40, 0.50], [0.45, 0.55]]  # [h1->o1 w5, h1->o2 w7], [h2->o1 w6, h2->o2 w8]
    net.intercepts[0][:] = 0.35
    net.intercepts[1][:] = 0.60
    return net


X1 = np.array([[0.05, 0.10]])
Y1 = np.array([[0.01, 0.99]])


def test_tutorial_forward_pass_and_error():
    net = tutorial_network()
    # the hidden layer, through a one-layer network with the same weights
    hidden = Network([2, 2], output_activation="logistic")
    hidden.params[:] = np.concatenate([net.coefs[0].ravel(), net.intercepts[0]])
    out_h = hidden.forward(X1)[0]
    net_h1 = X1[0] @ net.coefs[0][:, 0] + net.intercepts[0][0]
    net_o1 = out_h @ net.coefs[1][:, 0] + net.intercepts[1][0]
    out_o = net.forward(X1)[0]
    e_total, _ = net.loss_gradient(X1, Y1)
    e = 0.5 * (Y1[0] - out_o) ** 2
    found = {
        "net_h1": net_h1,
        "out_h1": out_h[0],
        "out_h2": out_h[1],
        "net_o1": net_o1,
        "out_o1": out_o[0],
        "out_o2": out_o[1],
        "E_o1": e[0],
        "E_o2": e[1],
        "E_total": e_total,
    }
    for name, value in found.items():
        assert matches_published(value, TUTORIAL[name]), (name, value, TUTORIAL[name])
    assert e_total == pytest.approx(e.sum(), rel=1e-15)


def test_tutorial_one_sgd_step_updates_the_eight_weights():
    net = tutorial_network()
    _, grad = net.loss_gradient(X1, Y1)
    net.params -= 0.5 * grad
    W0, W1_ = net.coefs
    found = {
        "w1": W0[0, 0],
        "w2": W0[1, 0],
        "w3": W0[0, 1],
        "w4": W0[1, 1],
        "w5": W1_[0, 0],
        "w6": W1_[1, 0],
        "w7": W1_[0, 1],
        "w8": W1_[1, 1],
    }
    for name, value in found.items():
        assert matches_published(value, TUTORIAL[name]), (name, value, TUTORIAL[name])
