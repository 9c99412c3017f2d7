"""Names in Python, codes in kernels.

The public API speaks in names ("relu", "log_loss"); the kernels take the small
integer codes below. Which output activation may be paired with which loss is
encoded here, in ``LOSS_OUTPUTS``, and checked before any kernel runs.
"""

from ._kernels.codes import (
    ADAM,
    EXP,
    IDENTITY,
    LEAKY_RELU,
    LOG_LOSS,
    LOGISTIC,
    POISSON,
    RELU,
    SGD,
    SOFTMAX,
    SOFTPLUS,
    SQUARED_ERROR,
    TANH,
)

HIDDEN_ACTIVATIONS = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
    "softplus": SOFTPLUS,
    "leaky_relu": LEAKY_RELU,
}
OUTPUT_ACTIVATIONS = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "softmax": SOFTMAX,
    "exp": EXP,
}

LOSSES = {"squared_error": SQUARED_ERROR, "log_loss": LOG_LOSS, "poisson": POISSON}

# The output activations each loss accepts. The pairs marked canonical have the
# output delta dL/dz = p - y (the activation is the loss's canonical link); the
# kernels use that shortcut for them and the full chain rule for the others.
LOSS_OUTPUTS = {
    "squared_error": ("identity", "logistic", "softmax", "exp"),
    "log_loss": ("logistic", "softmax"),
    "poisson": ("exp",),
}
CANONICAL = {
    ("squared_error", "identity"),
    ("log_loss", "logistic"),
    ("log_loss", "softmax"),
    ("poisson", "exp"),
}

SOLVERS = {"sgd": SGD, "adam": ADAM}


def init_factor(activation):
    """Glorot's factor for the uniform initial bound, as scikit-learn uses it."""
    return 2.0 if activation == "logistic" else 6.0


def lookup(table, name, what):
    """Return ``table[name]`` or raise a ValueError that lists the choices."""
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"Unknown {what} {name!r}; expected one of {sorted(table)}.")
    return table[name]


def check_pair(loss, output_activation):
    """Raise a ValueError unless ``loss`` accepts ``output_activation``."""
    allowed = LOSS_OUTPUTS[loss]
    if output_activation not in allowed:
        raise ValueError(
            f"loss {loss!r} cannot be used with output_activation "
            f"{output_activation!r}; it accepts {list(allowed)}."
        )
