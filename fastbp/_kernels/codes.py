"""The integer codes kernels take for activations, losses and solvers.

Names are the Python side's (``fastbp/_tables.py`` maps them to these codes and
says which pairs are allowed); kernels branch on the codes, so that one compiled
kernel per dtype serves every network.
"""

# Activations: hidden and output activations share one space.
IDENTITY, LOGISTIC, TANH, RELU, SOFTPLUS, LEAKY_RELU, SOFTMAX, EXP = range(8)
LEAKY_SLOPE = 0.01  # leaky_relu's slope below 0

# Losses.
SQUARED_ERROR, LOG_LOSS, POISSON = range(3)

# Solvers of the epoch kernels.
SGD, ADAM = range(2)
