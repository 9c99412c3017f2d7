"""One trainer per system, each written the way a careful user of that library
writes a fast training loop. Every trainer trains the same network on the same
data with the same plain minibatch SGD (bench/cases.py).

A trainer is built on a case, a dtype and the data, and has:

- ``epochs(n)``: run ``n`` more epochs, returning when they are done (so the
  wall time around it is the time of ``n`` epochs);
- ``predict()``: the network's outputs on the training X, as a NumPy array;
- ``info()``: a dict of settings worth recording (torch's thread count, ...).

The first ``epochs`` call compiles (Numba, XLA) and allocates: the benchmarks
make it before timing anything.

Systems: ``fastbp`` and ``sklearn`` (always), ``torch`` and ``jax`` (when
importable, see ``available``).

For K networks at once (bench/many.py), ``MANY_TRAINERS``: JAX and PyTorch each
training K stacked parameter sets under their ``vmap``, from the functions of the
single-network trainers (``jax_sgd``, ``torch_model``).
"""

import importlib.util
import warnings

import numpy as np

from bench.cases import LEARNING_RATE

SYSTEMS = ("fastbp", "sklearn", "torch", "jax")
# fastbp's engine alone (Network.train_epoch), timed beside the estimator where it
# differs: the epochs, not the memory or start-up benchmarks.
ENGINE = "fastbp-engine"
TIMED = ("fastbp", ENGINE, "sklearn", "torch", "jax")


def available(system):
    """Whether ``system``'s library can be imported here (without importing it)."""
    module = {"fastbp": "fastbp", ENGINE: "fastbp", "sklearn": "sklearn", "torch": "torch",
              "jax": "jax"}[system]  # fmt: skip
    return importlib.util.find_spec(module) is not None


def glorot_uniform(case, dtype, seed=0):
    """scikit-learn's initialisation: per layer bound = sqrt(factor / (fan_in + fan_out)),
    factor 2 for logistic, else 6; weights then intercepts from uniform(-bound, bound).

    torch and jax start from these same draws (transposed for torch), so that all
    systems learn from comparable starting points and their losses can be compared.
    """
    rng = np.random.default_rng(seed)
    factor = 2.0 if case.activation == "logistic" else 6.0
    out = []
    for fan_in, fan_out in zip(case.layers[:-1], case.layers[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
        b = rng.uniform(-bound, bound, fan_out).astype(dtype)
        out.append((W, b))
    return out


# --------------------------------------------------------------------------------------
# fastbp and scikit-learn: the estimators.
#
# Steady-state seconds per epoch through the estimator. Choice: warm_start. A first
# fit (max_iter=1) initialises the weights, compiles (fastbp) and warms up; each timed
# call is then ``fit`` with warm_start=True and max_iter=n, which continues from the
# current weights for exactly n epochs (tol=0 and n_iter_no_change=10**9 never stop
# early). The call includes one fit's fixed cost (input validation, buffer set-up:
# ~1 ms for fastbp, more for scikit-learn), which the benchmarks make negligible by
# choosing n so that a call lasts ~0.3 s (timing.epochs_per_round), and which they
# measure and record on the side (extra_info["fit_overhead_s"]). The alternative,
# (t(E2 epochs) - t(E1 epochs)) / (E2 - E1), cancels that fixed cost exactly but is
# the difference of two noisy timings: on this shared 2-core machine it is noisier
# than the cost it removes, and it can come out negative for the fast cases.
# --------------------------------------------------------------------------------------


class EstimatorTrainer:
    system = None

    def __init__(self, case, dtype, X, y):
        self.X, self.y = X, y
        self.est = self.estimator_class()(
            hidden_layer_sizes=case.hidden,
            activation=case.activation,
            solver="sgd",
            # No L2 penalty: torch and jax train plain SGD, and so do these.
            alpha=0.0,
            momentum=0.0,
            learning_rate_init=LEARNING_RATE,
            batch_size=case.batch_size,
            shuffle=True,
            tol=0,
            n_iter_no_change=10**9,
            random_state=0,
            warm_start=True,
            max_iter=1,
        )

    def estimator_class(self):
        raise NotImplementedError

    def epochs(self, n):
        from sklearn.exceptions import ConvergenceWarning

        self.est.max_iter = n
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.est.fit(self.X, self.y)

    def predict(self):
        return self.est.predict(self.X)

    def info(self):
        return {}

    @property
    def param_dtype(self):
        return self.est.coefs_[0].dtype


class FastbpTrainer(EstimatorTrainer):
    system = "fastbp"

    def estimator_class(self):
        import fastbp

        return fastbp.MLPRegressor


class FastbpEngineTrainer:
    """fastbp's engine alone: ``fastbp.Network.train_epoch``, one compiled call per
    epoch over a NumPy permutation (as the JAX peer gets), from the same initial
    weights as PyTorch and JAX. The estimator adds, once per epoch, scikit-learn's
    RandomState shuffle, the loss curve and its stopping checks. The data are
    made here as C-contiguous arrays of the dtype, so the epochs skip the checks
    of their values (``check_input=False``), as a caller running many epochs on
    data it checked once would."""

    def __init__(self, case, dtype, X, y):
        import fastbp

        self.X, self.y, self.batch = X, y, case.batch_size
        self.net = fastbp.Network(case.layers, case.activation, dtype=dtype)
        for i, (W, b) in enumerate(glorot_uniform(case, dtype)):
            self.net.coefs[i][...] = W
            self.net.intercepts[i][...] = b
        self.rng = np.random.default_rng(0)

    def epochs(self, n):
        for _ in range(n):
            order = self.rng.permutation(len(self.X))
            self.net.train_epoch(
                self.X, self.y, self.batch, LEARNING_RATE, order=order, check_input=False
            )

    def predict(self):
        return self.net.forward(self.X)

    def info(self):
        return {}

    @property
    def param_dtype(self):
        return self.net.params.dtype


class SklearnTrainer(EstimatorTrainer):
    system = "sklearn"

    def estimator_class(self):
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor


# --------------------------------------------------------------------------------------
# PyTorch on the CPU.
# --------------------------------------------------------------------------------------


def torch_model(case, dtype, seed=0):
    """nn.Sequential of Linear + ReLU/Sigmoid in ``dtype``, from glorot_uniform's draws."""
    import torch
    from torch import nn

    tdtype = {"float32": torch.float32, "float64": torch.float64}[np.dtype(dtype).name]
    act = {"relu": nn.ReLU, "logistic": nn.Sigmoid}[case.activation]
    modules = []
    for i, (W, b) in enumerate(glorot_uniform(case, dtype, seed)):
        lin = nn.Linear(W.shape[0], W.shape[1], dtype=tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        modules.append(lin)
        if i < len(case.layers) - 2:
            modules.append(act())
    return nn.Sequential(*modules)


class TorchTrainer:
    """nn.Sequential of Linear + ReLU/Sigmoid, torch.optim.SGD(lr=0.01), a fresh
    torch.randperm per epoch and index slicing of tensors made once from the
    NumPy arrays (no DataLoader, no per-batch conversion). torch's thread count is
    left at its default (torch.get_num_threads(): the machine's cores). The last
    minibatch of an epoch is whatever rows remain, as slicing gives it.

    The loss is scikit-learn's squared_error as scikit-learn differentiates it:
    0.5 * (sum over outputs of the squared residual), averaged over the rows of the
    batch. (scikit-learn reports the mean over outputs too, but its output delta
    is p - y divided by the batch rows only; for one output the two agree.)
    """

    system = "torch"

    def __init__(self, case, dtype, X, y):
        import torch

        self.torch = torch
        self.X = torch.from_numpy(X)
        self.Y = torch.from_numpy(y.reshape(len(y), -1))
        self.n = len(X)
        self.batch = case.batch_size
        self.model = torch_model(case, dtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE, momentum=0.0)
        self.gen = torch.Generator().manual_seed(0)

    def epochs(self, n):
        torch, model, opt = self.torch, self.model, self.opt
        X, Y, batch = self.X, self.Y, self.batch
        for _ in range(n):
            perm = torch.randperm(self.n, generator=self.gen)
            for start in range(0, self.n, batch):
                idx = perm[start : start + batch]
                xb, yb = X[idx], Y[idx]
                opt.zero_grad(set_to_none=True)
                loss = 0.5 * (model(xb) - yb).square().sum() / xb.shape[0]
                loss.backward()
                opt.step()

    def predict(self):
        with self.torch.inference_mode():
            return self.model(self.X).numpy()

    def info(self):
        return dict(threads=self.torch.get_num_threads())

    @property
    def param_dtype(self):
        return np.dtype(str(next(self.model.parameters()).dtype).replace("torch.", ""))


# --------------------------------------------------------------------------------------
# JAX.
# --------------------------------------------------------------------------------------


def _jax():
    import jax

    # x64 is a process-wide switch: turn it on once, for the float64 cases. The
    # float32 cases are unaffected, since every array is created in its dtype and
    # the only other constant (the learning rate) is a weakly typed Python float.
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_sgd(case, n):
    """One network's ``forward(params, x)`` and ``epoch(params, X, Y, perm)`` (SGD over
    the rows of X in the order ``perm``, params a list of (W, b)) on ``n`` rows, not
    jitted: JaxTrainer jits the epoch, ManyJaxTrainer jits its vmap."""
    jax = _jax()
    import jax.numpy as jnp

    act = {"relu": jax.nn.relu, "logistic": jax.nn.sigmoid}[case.activation]
    batch, n_features, n_outputs = case.batch_size, case.n_features, case.n_outputs
    n_full, rest = divmod(n, batch)

    def forward(params, x):
        for W, b in params[:-1]:
            x = act(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def loss(params, xb, yb):
        # scikit-learn's squared_error as it differentiates it (see TorchTrainer).
        return 0.5 * jnp.sum((forward(params, xb) - yb) ** 2) / xb.shape[0]

    grad = jax.grad(loss)

    def step(params, xy):
        xb, yb = xy
        g = grad(params, xb, yb)
        return jax.tree_util.tree_map(lambda p, d: p - LEARNING_RATE * d, params, g), None

    def epoch(params, X, Y, perm):
        head = perm[: n_full * batch]
        xs = X[head].reshape(n_full, batch, n_features)
        ys = Y[head].reshape(n_full, batch, n_outputs)
        params, _ = jax.lax.scan(step, params, (xs, ys))
        if rest:
            tail = perm[n_full * batch :]
            params, _ = step(params, (X[tail], Y[tail]))
        return params

    return forward, epoch


class JaxTrainer:
    """jax.jit of a whole epoch: the rows are gathered in the epoch's order once
    (the permutation is drawn by NumPy, as the other systems draw theirs, and
    passed in), reshaped to (n_batches, batch, features), and jax.lax.scan runs
    the SGD steps over them. X and Y are arguments of the jitted function, not
    constants closed over (XLA would embed those). float64 runs with
    jax.config.update("jax_enable_x64", True).

    Drawing the permutation inside the jitted epoch (jax.random.permutation) and
    gathering each minibatch inside the scan step was measured too: on this
    machine it made JAX's small case ~8x slower (18.7 ms against ~2.3 ms per
    epoch), so the faster form is the one benchmarked.

    jax.lax.scan needs equal batches. A ragged last batch (mid: 20,000 = 312 x 64 + 32;
    large: 10,000 = 78 x 128 + 16) is not dropped: one more step on the remaining
    rows follows the scan, inside the same jitted function, so JAX does the same
    work as the other systems. The parameters are donated to the jitted epoch, so
    it updates them in place. ``epochs`` calls block_until_ready before returning,
    so the clock stops when the work is done, not when it is queued.
    """

    system = "jax"

    def __init__(self, case, dtype, X, y):
        jax = _jax()
        import jax.numpy as jnp

        self.jax = jax
        self.n, self.batch = len(X), case.batch_size
        self.X = jnp.asarray(X)
        self.Y = jnp.asarray(y.reshape(len(y), -1))
        self.params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in glorot_uniform(case, dtype)]
        self.rng = np.random.default_rng(0)
        forward, epoch = jax_sgd(case, self.n)
        self._epoch = jax.jit(epoch, donate_argnums=0)
        self._forward = jax.jit(forward)

    def epochs(self, n):
        params = self.params
        for _ in range(n):
            params = self._epoch(params, self.X, self.Y, self.rng.permutation(self.n))
        self.params = self.jax.block_until_ready(params)

    def predict(self):
        return np.asarray(self._forward(self.params, self.X))

    def info(self):
        return dict(ragged_batch="one more step after the scan" if self.n % self.batch else None)

    @property
    def param_dtype(self):
        return np.dtype(self.params[0][0].dtype)


# --------------------------------------------------------------------------------------
# K networks at once (bench/many.py): JAX's and PyTorch's own way of training many
# networks side by side, vmap over stacked parameters. Member j starts from
# glorot_uniform's draws of seed j; each epoch, each member gets its own NumPy
# permutation (``permutations``), for both peers alike. A trainer is built on a case,
# a dtype, the data and K, and has ``reset()`` (every member back to its initial
# weights, the permutations' generator to its seed: what a fresh training starts
# from), ``epochs(n)``, ``weights()`` (per member, [(W, b)] as NumPy arrays, W of
# shape (fan_in, fan_out) as fastbp and scikit-learn store it) and ``info()``.
# --------------------------------------------------------------------------------------


def stacked_glorot(case, dtype, k):
    """glorot_uniform's draws of seeds 0..k-1, stacked: per layer (W (k, fan_in,
    fan_out), b (k, fan_out))."""
    members = [glorot_uniform(case, dtype, seed) for seed in range(k)]
    return [
        (np.stack([m[i][0] for m in members]), np.stack([m[i][1] for m in members]))
        for i in range(len(members[0]))
    ]


def permutations(rng, k, n):
    """One epoch's orders: a permutation of the n rows per member, (k, n) int64."""
    return np.stack([rng.permutation(n) for _ in range(k)])


class ManyJaxTrainer:
    """K networks at once: JaxTrainer's epoch (``jax_sgd``: the rows gathered in the
    member's order, ``lax.scan`` over the minibatches, one more step for a ragged
    last one) under ``jax.vmap`` over the K stacked parameter sets and the K
    permutations, the data shared (``in_axes=None``), jitted with the parameters
    donated. ``epochs`` calls block_until_ready before returning."""

    system = "jax"

    def __init__(self, case, dtype, X, y, k):
        jax = _jax()
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.case, self.dtype, self.k, self.n = case, dtype, k, len(X)
        self.X = jnp.asarray(X)
        self.Y = jnp.asarray(y.reshape(len(y), -1))
        _, epoch = jax_sgd(case, self.n)
        self._epoch = jax.jit(jax.vmap(epoch, in_axes=(0, None, None, 0)), donate_argnums=0)
        self.reset()

    def reset(self, seed=0):
        jnp = self.jnp
        stacked = stacked_glorot(self.case, self.dtype, self.k)
        self.params = self.jax.block_until_ready(
            [(jnp.asarray(W), jnp.asarray(b)) for W, b in stacked]
        )
        self.rng = np.random.default_rng(seed)

    def epochs(self, n):
        params = self.params
        for _ in range(n):
            params = self._epoch(params, self.X, self.Y, permutations(self.rng, self.k, self.n))
        self.params = self.jax.block_until_ready(params)

    def weights(self):
        layers = [(np.asarray(W), np.asarray(b)) for W, b in self.params]
        return [[(W[j], b[j]) for W, b in layers] for j in range(self.k)]

    def info(self):
        return dict(
            ragged_batch="one more step after the scan" if self.n % self.case.batch_size else None
        )


class ManyTorchTrainer:
    """K networks at once, as torch.func's model-ensembling recipe has it: the K
    members' parameters stacked (``torch.func.stack_module_state``), one member's
    loss written with ``torch.func.functional_call`` on a copy of the model without
    storage (device "meta"), its gradient (``torch.func.grad``) under ``torch.vmap``
    over the stacked parameters and the K members' minibatches, and the SGD update
    ``p -= lr * g`` in place on the stacked tensors. Each epoch the rows are gathered
    once in each member's order (K NumPy permutations, as the JAX peer gets them),
    then sliced into minibatches, the last one holding the remaining rows. torch's
    threads as TorchTrainer leaves them (its default)."""

    system = "torch"

    def __init__(self, case, dtype, X, y, k):
        import copy

        import torch
        from torch.func import functional_call, grad

        self.torch = torch
        self.case, self.dtype, self.k, self.n = case, dtype, k, len(X)
        self.X = torch.from_numpy(X)
        self.Y = torch.from_numpy(y.reshape(len(y), -1))
        base = copy.deepcopy(torch_model(case, dtype)).to("meta")

        def loss(params, xb, yb):
            # scikit-learn's squared_error as it differentiates it (see TorchTrainer).
            return 0.5 * (functional_call(base, params, (xb,)) - yb).square().sum() / xb.shape[0]

        self._grads = torch.vmap(grad(loss))
        self.reset()

    def reset(self, seed=0):
        from torch.func import stack_module_state

        models = [torch_model(self.case, self.dtype, j) for j in range(self.k)]
        params, _ = stack_module_state(models)
        self.params = {name: p.detach() for name, p in params.items()}
        self.rng = np.random.default_rng(seed)

    def epochs(self, n):
        torch, params, batch = self.torch, self.params, self.case.batch_size
        for _ in range(n):
            perm = torch.from_numpy(permutations(self.rng, self.k, self.n))
            X, Y = self.X[perm], self.Y[perm]  # (k, n, features), (k, n, outputs)
            for start in range(0, self.n, batch):
                g = self._grads(params, X[:, start : start + batch], Y[:, start : start + batch])
                for name, p in params.items():
                    p.sub_(g[name], alpha=LEARNING_RATE)

    def weights(self):
        p = {name: t.numpy() for name, t in self.params.items()}
        n_layers = len(self.case.layers) - 1
        # nn.Sequential names its Linear layers by position: 0, 2, 4, ... (activations between)
        names = [str(2 * i) for i in range(n_layers)]
        return [[(p[f"{i}.weight"][j].T, p[f"{i}.bias"][j]) for i in names] for j in range(self.k)]

    def info(self):
        return dict(threads=self.torch.get_num_threads())


MANY_TRAINERS = {"jax": ManyJaxTrainer, "torch": ManyTorchTrainer}


TRAINERS = {
    "fastbp": FastbpTrainer,
    ENGINE: FastbpEngineTrainer,
    "sklearn": SklearnTrainer,
    "torch": TorchTrainer,
    "jax": JaxTrainer,
}


def make_trainer(system, case, dtype, X, y):
    return TRAINERS[system](case, dtype, X, y)
