"""fastbp's benchmark suite (issue 4): seconds per epoch against scikit-learn, PyTorch
and JAX, start-up time, peak memory, GEMM references and scaling.

``pytest`` runs every benchmark once as a smoke test; ``make bench`` times them all
and writes bench/RESULTS.md (bench/report.py).
"""
