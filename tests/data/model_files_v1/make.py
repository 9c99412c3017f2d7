"""Writes the model files of this folder: fastbp.save's format version 1, as the
fastbp of commit 4fc721d wrote it, and what each model computed then.

    python tests/data/model_files_v1/make.py

test_io.py's test_files_written_by_format_version_1_still_load reads them with
today's fastbp.load: they must predict, and go on training, exactly as recorded.
Run again only to add cases, never to update the files of a format in use.
"""

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/

import test_io  # noqa: E402

import fastbp  # noqa: E402

CASES = ("regressor_adam", "regressor_poisson_sgd", "regressor_lbfgs_multioutput",
         "regressor_early_stopping", "classifier_binary_str", "classifier_multiclass_int_sgd",
         "classifier_multilabel", "classifier_feature_names", "classifier_object_classes",
         "network")  # fmt: skip


def recorded(model, X):
    """What the model computes for X, and for estimators with an optimizer the
    parameters after one more partial_fit (the optimizer state at work)."""
    out = {f"output{i}": np.asarray(o) for i, o in enumerate(test_io._outputs(model, X))}
    # object labels (a classifier's str classes of dtype object) as str: no pickle
    out = {k: v.astype(str) if v.dtype == object else v for k, v in out.items()}
    if hasattr(model, "_optimizer") and not model.early_stopping:
        y = test_io._targets(model, X)
        if model.loss == "poisson":  # fitted on the class labels
            y = test_io._data(np.float64, n=X.shape[0])[1]
        model.partial_fit(X, y)
        out["params_after_partial_fit"] = model._network.params.copy()
    return out


def main():
    index = {}
    for case in CASES:
        for dtype in (np.float32, np.float64):
            model, X = test_io.MODELS[case](dtype)
            name = f"{case}-{np.dtype(dtype).name}"
            fastbp.save(model, HERE / f"{name}.npz")
            np.savez(HERE / f"{name}.expected.npz", X=np.asarray(X), **recorded(model, X))
            index[name] = {"case": case, "dtype": np.dtype(dtype).name}
    (HERE / "index.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
