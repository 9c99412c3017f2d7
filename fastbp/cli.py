"""The ``fastbp`` command line."""

import argparse
import sys
import time

import numpy as np

from .network import Network


def train(net, X, Y, lr, steps, loss="squared_error"):
    """Full-batch gradient descent through Network.loss_gradient."""
    for _ in range(steps):
        _, grad = net.loss_gradient(X, Y, loss)
        net.params -= lr * grad
    return net.loss_gradient(X, Y, loss)[0]


def demo_seed000():
    print("Seed 000: input -> 2 softplus neurons -> identity output, on SSR")
    X = np.array([[0.0], [0.5], [1.0]])
    y = np.array([0.0, 1.0, 0.0])
    net = Network([1, 2, 1], activation="softplus", random_state=0)
    start = time.perf_counter()
    loss = train(net, X, y, lr=0.5, steps=20_000)
    took = time.perf_counter() - start
    (w1, w2), (b1, b2) = net.coefs[0][0], net.intercepts[0]
    w3, w4, b3 = *net.coefs[1][:, 0], net.intercepts[1][0]
    print(f"  20,000 gradient steps in {took:.2f} s; SSR = 6 x loss = {6 * loss:.2e}")
    print(
        f"  w1={w1:.3f} b1={b1:.3f}  w2={w2:.3f} b2={b2:.3f}  w3={w3:.3f} w4={w4:.3f} b3={b3:.3f}"
    )
    for x, target, p in zip(X[:, 0], y, net.forward(X)[:, 0]):
        print(f"  dosage {x:.1f}: observed {target:.0f}, predicted {p:.4f}")


def demo_tutorial():
    print("\nSeed 001: the 2-2-2 logistic network of the step-by-step tutorial")
    net = Network([2, 2, 2], activation="logistic", output_activation="logistic")
    net.coefs[0][:] = [[0.15, 0.25], [0.20, 0.30]]
    net.coefs[1][:] = [[0.40, 0.50], [0.45, 0.55]]
    net.intercepts[0][:] = 0.35
    net.intercepts[1][:] = 0.60
    X, Y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    out = net.forward(X)[0]
    e_total, grad = net.loss_gradient(X, Y)
    print(f"  forward: out_o1 = {out[0]:.9f}, out_o2 = {out[1]:.9f}, E_total = {e_total:.9f}")
    net.params -= 0.5 * grad
    print(
        "  after one step (lr 0.5): w1..w4 = "
        + ", ".join(f"{w:.9f}" for w in net.coefs[0].T.ravel())
        + "\n                           w5..w8 = "
        + ", ".join(f"{w:.9f}" for w in net.coefs[1].T.ravel())
    )
    # The tutorial updates weights only: keep the biases fixed as it does.
    biases = net.intercepts[0].copy(), net.intercepts[1].copy()
    for _ in range(9_999):
        _, grad = net.loss_gradient(X, Y)
        net.params -= 0.5 * grad
        net.intercepts[0][:], net.intercepts[1][:] = biases
    e_total = net.loss_gradient(X, Y)[0]
    out = net.forward(X)[0]
    print(
        f"  after 10,000 steps, biases fixed: E_total = {e_total:.10f} "
        f"(outputs {out[0]:.6f}, {out[1]:.6f} for targets 0.01, 0.99;\n"
        "  the tutorial prints 0.0000351085 here)"
    )


def demo(args):
    demo_seed000()
    demo_tutorial()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fastbp",
        description="fastbp: fast, exact backpropagation for multi-layer perceptrons.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("demo", help="train networks on the seeds' examples and print them")
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
