"""The compiled kernels: the protocol they share, their compile options and cache,
and each step of forward, backward and update (README: the layout of this package)."""
