"""How bench/report.py writes things: the systems' names, times, ratios, markdown
tables and bulleted notes. No figures are read or judged here."""

import math

from bench.peers import ENGINE, SYSTEMS

NAMES = {"fastbp": "fastbp", ENGINE: "fastbp engine", "sklearn": "scikit-learn",
         "torch": "PyTorch", "jax": "JAX"}  # fmt: skip
# fastbp's engine is fastbp too: not a peer it is compared against.
PEERS = [s for s in SYSTEMS if s != "fastbp"]


def fmt_time(s):
    if s is None or not math.isfinite(s):
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def fmt_ratio(r):
    if r is None:
        return "–"
    return f"{r:,.0f}×" if r >= 100 else f"{r:.3g}×"


def table(header, rows, align=None):
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def with_notes(text, notes):
    """``text`` (a table) followed by ``notes`` as a bulleted list."""
    return text + "\n\n" + "\n".join(f"- {n}" for n in notes)
