"""fastbp's benchmark suite (issue 4): seconds per epoch against scikit-learn, PyTorch
and JAX, BLAS threads, GEMM references, start-up time, peak memory, scaling, and
the use of both cores.

``pytest`` runs every benchmark once as a smoke test; ``python -m bench`` (what
``make bench`` and ``fastbp bench`` run) times them all and writes bench/RESULTS.md
(bench/report.py).
"""
