"""``fastbp.plot_loss_curve``: a fit's loss curve and validation scores (matplotlib extra)."""

from ._files import replace_file


def plot_loss_curve(model, path=None, ax=None):
    """Draw ``model.loss_curve_`` and, if any, ``model.validation_scores_``.

    Parameters
    ----------
    model : fitted fastbp or scikit-learn MLP estimator (sgd or adam solver)
    path : str or path-like, optional
        Write the figure to this PNG file (no screen needed).
    ax : matplotlib Axes, optional
        Draw on these axes instead of a new figure.

    Returns
    -------
    ax : matplotlib Axes
    """
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_loss_curve needs matplotlib: pip install 'fastbp[plot]'") from exc
    curve = getattr(model, "loss_curve_", None)
    if curve is None:
        raise ValueError(
            "model has no loss_curve_: fit it first, with solver 'sgd' or 'adam' "
            "(scikit-learn's lbfgs keeps no curve)."
        )
    if ax is None:
        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(curve) + 1)
    ax.plot(epochs, curve, label="training loss", color="C0", zorder=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    scores = getattr(model, "validation_scores_", None)
    if scores:
        ax2 = ax.twinx()
        ax2.plot(epochs, scores, label="validation score", color="C1")
        ax2.set_ylabel("validation score")
        lines = ax.get_lines() + ax2.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    else:
        ax.legend(loc="upper right")
    if ax.get_title() == "":
        ax.set_title(type(model).__name__)
    if path is not None:
        ax.figure.tight_layout()
        # replaced whole (fastbp._files): an interrupted write leaves the old image
        replace_file(path, lambda f: ax.figure.savefig(f, format="png", dpi=100))
    return ax
