"""ONNX export: ``fastbp.to_onnx`` and skl2onnx converters for fastbp's models.

skl2onnx finds a converter by the model's exact class, so fastbp registers one per
class (``register_onnx_converters``): a shape calculator that declares the outputs'
types, and a converter that writes the forward pass as ONNX nodes. The classifier
uses skl2onnx's own classifier parser, registered with the options of skl2onnx's
``MLPClassifier`` (``zipmap``, ``nocl``, ``output_class_labels``), so its outputs are
the ones skl2onnx gives for scikit-learn's: ``label`` and ``probabilities``, zipped
into a list of dicts by default.

The graph computes in the input's dtype: double for float64 inputs, float
otherwise (the weights are cast to it). Each activation is fastbp's formula
(``_kernels/activations.py``), not only its name's usual op where they part:

==========  ==================================================================
identity    nothing
logistic    1 / (1 + Exp(-x)), Exp(x) where Exp(-x) would overflow: scipy's expit,
            as fastbp computes it (onnxruntime's Sigmoid is off by up to 2e-2
            relative in float, 3e-11 in double, for negative x)
tanh        Tanh
relu        Relu
softplus    Relu(x) + log1p(Exp(-Abs(x))), log1p(e) by Kahan's Log(u) e / (u - 1),
            u = 1 + e (ONNX has no Log1p; Softplus, log(1 + e^x), overflows for
            large x and loses the small values of very negative ones)
leaky_relu  Max(x, 0.01 x), the slope in the graph's dtype (LeakyRelu's alpha is a
            float32 attribute, off by 2e-8 relative in a double graph)
softmax     Softmax on axis 1
exp         Exp(Clip(x, lo, hi)): fastbp saturates at the dtype's finite range
==========  ==================================================================

onnx and skl2onnx are imported when a function here is called, not with fastbp.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._kernels import activations
from ._kernels.codes import LEAKY_SLOPE
from .estimators import MLPClassifier, MLPRegressor
from .network import Network

__all__ = ["register_onnx_converters", "to_onnx"]

# skl2onnx's names for fastbp's classes (its "aliases")
ALIASES = {
    MLPRegressor: "FastbpMLPRegressor",
    MLPClassifier: "FastbpMLPClassifier",
    Network: "FastbpNetwork",
}
# the options skl2onnx registers for scikit-learn's MLPClassifier
CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}
# exp's input bounds by the graph's dtype, and logistic's (beyond, e^-x overflows
# the dtype): the kernels' own (``_kernels/activations.py``)
EXP_BOUNDS = {np.float32: activations.EXP_BOUNDS_32, np.float64: activations.EXP_BOUNDS_64}
LOGISTIC_CAP = {np.float32: activations.LOGISTIC_CAP_32, np.float64: activations.LOGISTIC_CAP_64}


def _skl2onnx():
    try:
        import onnx  # noqa: F401
        import skl2onnx
    except ImportError as exc:
        raise ImportError(
            "ONNX export needs onnx and skl2onnx (and onnxruntime to run the models): "
            'pip install "fastbp[onnx]"'
        ) from exc
    return skl2onnx


def register_onnx_converters():
    """Register fastbp's MLPRegressor, MLPClassifier and Network with skl2onnx.

    Afterwards skl2onnx's own ``to_onnx`` and ``convert_sklearn`` convert them, alone
    or inside a scikit-learn Pipeline or ColumnTransformer, like scikit-learn's MLPs
    (the classifier takes the same options: ``zipmap``, ``nocl``,
    ``output_class_labels``). Calling it again changes nothing.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install "fastbp[onnx]"``).
    """
    skl2onnx = _skl2onnx()
    for cls, alias in ALIASES.items():
        classifier = cls is MLPClassifier
        skl2onnx.update_registered_converter(
            cls,
            alias,
            _classifier_shapes if classifier else _regressor_shapes,
            _convert_classifier if classifier else _convert_regressor,
            options=CLASSIFIER_OPTIONS if classifier else None,
        )


def to_onnx(model, X=None, **kwargs):
    """An ONNX model (``onnx.ModelProto``) that computes what ``model`` predicts.

    Parameters
    ----------
    model : fitted fastbp.MLPRegressor, MLPClassifier or Network, or a fitted
        scikit-learn estimator holding them (a Pipeline, a ColumnTransformer in a
        Pipeline, ...) whose other steps skl2onnx converts.
    X : array-like or DataFrame, optional
        A few rows of input: their dtype and columns set the graph's inputs
        (skl2onnx's ``to_onnx``). float64 rows make a double graph, which agrees
        with a float64 model's predictions to about 1e-12 relative; float32 rows a
        float graph (1e-5 relative with a float32 model).
    **kwargs
        Passed to ``skl2onnx.to_onnx``: ``options`` (e.g. ``{"zipmap": False}`` for
        a classifier's plain probability tensor), ``target_opset``,
        ``initial_types``, ``name``, ...

    Returns
    -------
    onnx.ModelProto
        A regressor (or Network) has one output, ``variable``, of shape
        (n_samples, n_outputs); a classifier ``label`` (strings or int64, shape
        (n_samples,), or (n_samples, n_classes) of 0/1 for multilabel) and
        ``probabilities`` ((n_samples, n_classes); with zipmap, the default,
        ``output_label`` and ``output_probability``, a list of dicts), as skl2onnx
        names them for scikit-learn's MLPClassifier.

    Raises
    ------
    ImportError
        If onnx or skl2onnx is missing (``pip install "fastbp[onnx]"``).
    TypeError
        If ``model`` is neither a fastbp model nor a scikit-learn estimator.
    sklearn.exceptions.NotFittedError
        If it is not fitted.

    Notes
    -----
    Registers fastbp's converters with skl2onnx first (``register_onnx_converters``).
    """
    if isinstance(model, Network):
        pass
    elif isinstance(model, BaseEstimator):
        check_is_fitted(model)
    else:
        raise TypeError(
            "to_onnx takes a fitted fastbp.MLPRegressor, MLPClassifier or Network, or a "
            "fitted scikit-learn estimator (a Pipeline, ...) holding them; got "
            f"{type(model).__module__}.{type(model).__qualname__}."
        )
    skl2onnx = _skl2onnx()
    register_onnx_converters()
    return skl2onnx.to_onnx(model, X, **kwargs)


# ------------------------------------------------------------ shape calculators ----


def _graph_types(operator):
    """(tensor type class, numpy dtype, ONNX element type) of the graph's computation:
    double for a double input, float for any other."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    if isinstance(operator.inputs[0].type, DoubleTensorType):
        return DoubleTensorType, np.float64, TensorProto.DOUBLE
    return FloatTensorType, np.float32, TensorProto.FLOAT


def _check_io(operator, n_outputs):
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_outputs)
    check_input_and_output_types(
        operator,
        good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType, BooleanTensorType],
    )


def _network(model):
    """The network a model predicts with (an estimator's, with any coefs_ assigned)."""
    return model if isinstance(model, Network) else model._synced_network()


def _regressor_shapes(operator):
    _check_io(operator, 1)
    tensor, _, _ = _graph_types(operator)
    n = operator.inputs[0].get_first_dimension()
    n_out = int(_network(operator.raw_operator).layer_sizes[-1])
    operator.outputs[0].type = tensor([n, n_out])


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    _check_io(operator, 2)
    tensor, _, _ = _graph_types(operator)
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    labels, multilabel = _labels(operator.scope_inst, model)
    label_type = StringTensorType if labels.dtype == object else Int64TensorType
    n_classes = len(model.classes_)
    operator.outputs[0].type = label_type([n, n_classes] if multilabel else [n])
    # ONNX's ZipMap takes float only: zipped probabilities are float even in a double
    # graph (skl2onnx's MLPClassifier gives an invalid graph there)
    if operator.scope_inst.get_options(model, dict(zipmap=True))["zipmap"] is True:
        tensor = FloatTensorType
    operator.outputs[1].type = tensor([n, max(n_classes, 2)])


def _labels(scope, model):
    """The class labels as the graph returns them, and whether the model is multilabel:
    int64 for integer, boolean and integral float labels, UTF-8 strings (an object
    array of bytes) for the others, as skl2onnx does for scikit-learn's MLPClassifier;
    0..n_classes-1 with the option ``nocl``."""
    multilabel = model._label_binarizer.y_type_.startswith("multilabel")
    classes = np.asarray(model.classes_)
    if len(classes) < 2:
        raise ValueError(
            "to_onnx: this MLPClassifier was fitted on one class only; it has no ONNX form."
        )
    if scope.get_options(model, dict(nocl=False))["nocl"] or multilabel:
        return np.arange(len(classes), dtype=np.int64), multilabel
    values = classes.tolist()
    if all(isinstance(v, str) for v in values):
        return np.array([v.encode("utf-8") for v in values], dtype=object), multilabel
    if all(isinstance(v, (numbers.Integral, bool)) for v in values):
        return classes.astype(np.int64), multilabel
    if all(isinstance(v, numbers.Real) and float(v).is_integer() for v in values):
        return classes.astype(np.int64), multilabel
    raise ValueError(
        f"to_onnx: class labels must be integers or strings (as skl2onnx requires), got"
        f" {classes!r:.200}."
    )


# ------------------------------------------------------------------ converters ----


class _Graph:
    """Adds nodes and constants to skl2onnx's container under unique names."""

    def __init__(self, scope, container, dtype, proto):
        self.scope, self.container = scope, container
        self.dtype, self.proto = dtype, proto

    def node(self, op, inputs, output=None, domain="", **attrs):
        output = output or self.scope.get_unique_variable_name(op.lower())
        self.container.add_node(
            op,
            inputs,
            output,
            op_domain=domain,
            name=self.scope.get_unique_operator_name(op),
            **attrs,
        )
        return output

    def constant(self, values, proto=None, name="constant"):
        values = np.asarray(values)
        name = self.scope.get_unique_variable_name(name)
        proto = self.proto if proto is None else proto
        content = values.ravel().tolist() if values.dtype == object else values.ravel()
        self.container.add_initializer(name, proto, list(values.shape), content)
        return name

    def number(self, value):
        return self.constant(np.array(value, dtype=self.dtype))


def _activation(g, x, name):
    """fastbp's activation ``name`` of ``x`` (the table in the module's docstring)."""
    if name == "identity":
        return x
    simple = {"tanh": "Tanh", "relu": "Relu"}
    if name in simple:
        return g.node(simple[name], [x])
    if name == "logistic":
        neg = g.node("Neg", [x])
        expit = g.node("Div", [g.number(1.0), g.node("Add", [g.number(1.0), g.node("Exp", [neg])])])
        # e^x where e^-x would overflow (and 1 / (1 + e^-x) round to 0)
        return g.node("Where", [g.node("Greater", [neg, g.number(LOGISTIC_CAP[g.dtype])]),
                                g.node("Exp", [x]), expit])  # fmt: skip
    if name == "softmax":
        return g.node("Softmax", [x], axis=1)
    if name == "exp":
        lo, hi = EXP_BOUNDS[g.dtype]
        return g.node("Exp", [g.node("Clip", [x, g.number(lo), g.number(hi)])])
    if name == "leaky_relu":
        return g.node("Max", [x, g.node("Mul", [x, g.number(LEAKY_SLOPE)])])
    if name == "softplus":
        e = g.node("Exp", [g.node("Neg", [g.node("Abs", [x])])])  # in (0, 1]
        return g.node("Add", [g.node("Relu", [x]), _log1p(g, e)])
    raise ValueError(f"to_onnx: no ONNX form for activation {name!r}.")


def _log1p(g, e):
    """log(1 + e) to a few ulps for e >= 0 (Kahan): Log(u) e / (u - 1), u = 1 + e, and e
    where u rounds to 1. (The unused branch's 0 / 0 is never selected.)"""
    u = g.node("Add", [g.number(1.0), e])
    d = g.node("Sub", [u, g.number(1.0)])
    ratio = g.node("Mul", [g.node("Log", [u]), g.node("Div", [e, d])])
    return g.node("Where", [g.node("Equal", [d, g.number(0.0)]), e, ratio])


def _forward(g, operator):
    """The network's output layer for the operator's input, in the graph's dtype."""
    net = _network(operator.raw_operator)
    x = g.node("Cast", [operator.inputs[0].full_name], to=g.proto)
    last = len(net.coefs) - 1
    for i, (w, b) in enumerate(zip(net.coefs, net.intercepts)):
        w = g.constant(w.astype(g.dtype), name="coefficient")
        b = g.constant(b.astype(g.dtype).reshape(1, -1), name="intercepts")
        x = g.node("Add", [g.node("MatMul", [x, w]), b])
        x = _activation(g, x, net.output_activation if i == last else net.activation)
    return x


def _convert_regressor(scope, operator, container):
    _, dtype, proto = _graph_types(operator)
    g = _Graph(scope, container, dtype, proto)
    g.node("Identity", [_forward(g, operator)], operator.outputs[0].full_name)


def _convert_classifier(scope, operator, container):
    from onnx import TensorProto
    from skl2onnx.common.data_types import FloatTensorType

    _, dtype, proto = _graph_types(operator)
    g = _Graph(scope, container, dtype, proto)
    model = operator.raw_operator
    p = _forward(g, operator)
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name
    labels, multilabel = _labels(scope, model)
    if model.n_outputs_ == 1:  # binary: predict_proba's [1 - p, p]
        proba = g.node("Concat", [g.node("Sub", [g.number(1.0), p]), p], axis=1)
    else:
        proba = p
    # (float for ZipMap in a double graph: _classifier_shapes)
    to = TensorProto.FLOAT if isinstance(operator.outputs[1].type, FloatTensorType) else proto
    g.node("Cast", [proba], proba_out, to=to)
    if multilabel:  # predict's p > 0.5, as 0/1
        g.node("Cast", [g.node("Greater", [p, g.number(0.5)])], label_out, to=TensorProto.INT64)
        return
    # predict's first class of the highest probability (for binary: p > 0.5, as
    # 1 - p is exact for p >= 0.5)
    index = g.node("ArgMax", [proba], axis=1, keepdims=0)
    kind = TensorProto.STRING if labels.dtype == object else TensorProto.INT64
    g.node("Gather", [g.constant(labels, kind, "classes"), index], label_out, axis=0)
