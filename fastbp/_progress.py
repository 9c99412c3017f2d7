"""The progress bar of long fits (tqdm, an optional extra: ``pip install fastbp[progress]``)."""


class NoBar:
    """Stands in for a bar when progress is off."""

    def update(self, loss=None, validation=None):
        pass

    def close(self):
        pass


class EpochBar:
    """Epochs (or L-BFGS iterations) done, current loss, validation score, time left."""

    def __init__(self, total, unit, desc):
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "progress=True needs tqdm: pip install 'fastbp[progress]' (or tqdm)."
            ) from exc
        self._bar = tqdm(total=total, unit=unit, desc=desc, leave=True)

    def update(self, loss=None, validation=None):
        postfix = {}
        if loss is not None:
            postfix["loss"] = f"{loss:.6g}"
        if validation is not None:
            postfix["val"] = f"{validation:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def close(self):
        self._bar.close()


def progress_bar(enabled, total, unit, desc):
    return EpochBar(total, unit, desc) if enabled else NoBar()
