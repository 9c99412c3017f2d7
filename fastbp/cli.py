"""The ``fastbp`` command line."""

import argparse
import os
import sys
import time

import numpy as np

from ._files import replace_file
from .network import Network

# the steps of `python -m bench` (bench/__main__.py) that `fastbp bench --skip` leaves out
STEPS = ["interleaved", "whole_fits", "many", "scaling", "threads", "split_batch"]


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


def compile_kernels(args):
    from . import _compile

    return _compile.main(args)


def seeds(args):
    demo_seed000()
    demo_tutorial()
    return 0


def side_by_side(name, make, X, y, score_name, curves):
    """Fit fastbp's and scikit-learn's estimator alike; print scores and times.

    Each is timed on its second fit: the first, on a few rows, loads what it needs
    (fastbp's compiled kernels from Numba's cache, scikit-learn's modules), as the
    first fit of any program does once.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    fitted = {}
    for lib in ("fastbp", "sklearn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            make(lib, quiet=True).set_params(max_iter=1).fit(X_train[:20], y_train[:20])
            est = make(lib)
            start = time.perf_counter()
            est.fit(X_train, y_train)
            fitted[lib] = (est, time.perf_counter() - start)
    (ours, t_ours), (theirs, t_theirs) = fitted["fastbp"], fitted["sklearn"]
    print(f"\n{name}: {X.shape[0]} samples, {X.shape[1]} features, {theirs.n_iter_} epochs")
    for lib, (est, took) in fitted.items():
        print(f"  {lib:8s} {score_name} = {est.score(X_test, y_test):.4f}   fit {took:7.3f} s")
    same = np.allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-6, atol=1e-9)
    print(f"  speed-up {t_theirs / t_ours:.1f}x; same weights as scikit-learn: {same}")
    curves.append((name, ours, theirs))


def demo(args):
    """fastbp and scikit-learn side by side on datasets that ship with scikit-learn."""
    from sklearn import neural_network as sk
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.preprocessing import StandardScaler

    from . import MLPClassifier, MLPRegressor, _compile

    # What `fastbp compile` (make demo's first step) did not compile, compiled now:
    # the only compiling the demo does, on a line of its own.
    report = _compile.compile_all()
    compiled = sum(k.compiled for k in report.kernels)
    took = report.seconds if compiled else 0.0
    print(f"compiling: {took:.1f} s ({compiled} kernel signatures; the rest were cached)")

    bars = not args.quiet and _has("tqdm")
    curves = []
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data)
    side_by_side(
        "digits (classification)",
        lambda lib, quiet=False: (MLPClassifier if lib == "fastbp" else sk.MLPClassifier)(
            hidden_layer_sizes=(64,),
            max_iter=100,
            random_state=0,
            **({"progress": bars and not quiet} if lib == "fastbp" else {}),
        ),
        X,
        digits.target,
        "accuracy",
        curves,
    )
    diabetes = load_diabetes()
    X = StandardScaler().fit_transform(diabetes.data)
    y = (diabetes.target - diabetes.target.mean()) / diabetes.target.std()
    side_by_side(
        "diabetes (regression)",
        lambda lib, quiet=False: (MLPRegressor if lib == "fastbp" else sk.MLPRegressor)(
            hidden_layer_sizes=(16,),
            solver="sgd",
            learning_rate_init=0.01,
            batch_size=16,
            alpha=1.0,
            early_stopping=True,
            max_iter=200,
            random_state=0,
            **({"progress": bars and not quiet} if lib == "fastbp" else {}),
        ),
        X,
        y,
        "R^2",
        curves,
    )
    if not _has("matplotlib"):
        print("\nno loss curves: matplotlib is not installed (pip install 'fastbp[plot]')")
        return 0
    plot_curves(curves, args.png)
    print(f"\nloss curves written to {args.png}")
    return 0


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def plot_curves(curves, path):
    """The demo's loss curves, fastbp's and scikit-learn's, side by side, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_loss_curve

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4))
    for ax, (name, ours, theirs) in zip(axes, curves):
        ax.plot(
            range(1, len(theirs.loss_curve_) + 1),
            theirs.loss_curve_,
            ":",
            color="C2",
            lw=3,
            label="scikit-learn's training loss",
        )
        plot_loss_curve(ours, ax=ax)
        ax.set_title(f"{name}: fastbp and scikit-learn")
    fig.tight_layout()
    save_figure(fig, path)


def save_figure(fig, path):
    """Write ``fig`` to ``path`` whole (``_files``), in the format its name says, as
    savefig infers it from a path (a PNG when the name says none)."""
    kind = os.path.splitext(os.fspath(path))[1][1:].lower() or "png"
    replace_file(path, lambda f: fig.savefig(f, format=kind))


NO_SUITE = """\
fastbp bench: no benchmark suite found. It is not part of the installed package:
it lives in bench/ of fastbp's source repository. In a clone of the repository, run
    make bench
(creates .venv, installs PyTorch and JAX, runs the suite), or, with fastbp installed
from the clone (pip install -e .), run `fastbp bench` in the clone's root directory."""


def find_checkout():
    """The source checkout whose suite to run: the one fastbp is imported from, else
    the current directory; None if neither has bench/."""
    from pathlib import Path

    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (root / "bench" / "__main__.py").is_file() and (root / "fastbp").is_dir():
            return root
    return None


def bench(args):
    """Run the benchmark suite of a source checkout: what `make bench` runs, minus
    installing the peers (bench/__main__.py)."""
    import subprocess

    root = find_checkout()
    if root is None:
        print(NO_SUITE, file=sys.stderr)
        return 1
    cmd = [sys.executable, "-m", "bench"]
    cmd += (["-k", args.k] if args.k else []) + (["--skip", *args.skip] if args.skip else [])
    cmd += ["--dry-run"] if args.dry_run else []
    print(f"fastbp bench: running the suite of {root}", flush=True)
    return subprocess.call(cmd, cwd=root)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # one clear line and a non-zero exit, instead of the usage block
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def main(argv=None):
    parser = Parser(
        prog="fastbp",
        description="fastbp: fast, exact backpropagation for multi-layer perceptrons.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    p = sub.add_parser(
        "compile",
        help="compile every kernel now (once after installing), so that no fit compiles",
        description="Compile every kernel signature fastbp's estimators and Network can "
        "reach, in parallel, into Numba's cache, so that no fit, prediction or gradient "
        "compiles in front of you. Kernels already cached are not compiled again. Run it "
        "once after installing or upgrading fastbp (make demo and make test run it).",
    )
    p.add_argument("--workers", type=int, help="processes that compile (default: one per CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=compile_kernels)
    p = sub.add_parser(
        "demo",
        help="train fastbp and scikit-learn side by side on digits and diabetes",
        description="Train fastbp and scikit-learn side by side on datasets that ship with "
        "scikit-learn (digits for classification, diabetes for regression); print scores, "
        "fit times and the speed-up, and write the loss curves to a PNG.",
    )
    p.add_argument("--png", default="fastbp-demo.png", help="where to write the loss curves")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=demo)
    p = sub.add_parser(
        "seeds",
        help="train Network on the seeds' worked examples and print what it found",
        description="Train fastbp.Network on the seeds' examples: the 1-2-1 softplus "
        "network of seed 000 and the 2-2-2 logistic tutorial network of seed 001.",
    )
    p.set_defaults(func=seeds)
    p = sub.add_parser(
        "bench",
        help="run the benchmark suite of a source checkout and write bench/RESULTS.md",
        description="Run the benchmark suite of a source checkout (bench/), as `make bench` "
        "does: fastbp against scikit-learn, PyTorch and JAX (those installed; `make bench` "
        "installs the last two) on the four reference cases, BLAS threads, GEMM rate, "
        "start-up time, peak memory, then whole fits, many networks at once, scaling, "
        "thread-parallel fits and split minibatches; then write bench/RESULTS.md, "
        "bench/results.png and bench/scaling.png. About 15 minutes on 2 cores. The suite "
        "is not in the installed package: run this in a clone of the repository.",
    )
    p.add_argument("-k", metavar="EXPR", help="run only the benchmarks pytest's -k selects")
    p.add_argument(
        "--skip",
        nargs="+",
        metavar="STEP",
        choices=STEPS,
        help="leave out these steps: " + ", ".join(STEPS),
    )
    p.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    p.set_defaults(func=bench)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
