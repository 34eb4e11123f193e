"""DeepLIFT (Shrikumar, Greenside & Kundaje 2017) and DeepSHAP (Lundberg & Lee 2017) on the graph
replay, on every Keras backend.

DeepLIFT explains the difference of the logit from its value at a reference input: each
nonlinearity's gradient is replaced by a *multiplier*, the ratio of its output's change to its
input's change between the input and the reference, and the attribution of an input value is its
change times its multiplier to the logit, so the attributions sum to logit(x) - logit(reference)
(summation-to-delta). The network runs once on the input and the reference stacked in one batch,
so that every nonlinearity sees both.

- **Rescale**: the multiplier of an elementwise nonlinearity is (f(x) - f(x0)) / (x - x0), the
  gradient where the input hardly changed (captum's ``DeepLift``, eps 1e-10); a max pooling's
  change goes to the input's and the reference's winners (captum's rule).
- **RevealCancel**: the positive and negative parts of a nonlinearity's input change (the sums
  of the positive and of the negative contributions w_i (a_i - a0_i) of the layer with weights
  before it, or of a sum's inputs) get multipliers of their own, each the average change of the
  output when that part is added before and after the other; a nonlinearity after anything else
  is refused. Neither captum nor shap implements it.
- **DeepSHAP**: the average of Rescale's attributions over a set of references.

Linear operations (layers with weights, batch normalization, sums, average pooling, reshaping)
keep their gradient: their multiplier is their weight.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from nnvisual import graph
from nnvisual.attribution.batches import in_chunks
from nnvisual.attribution.layer_kinds import Walk, activation_of, foldable, linear_output
from nnvisual.errors import UserError
from nnvisual.graph import gradients

EPSILON = 1e-10  # below this change of a nonlinearity's input, its gradient is used (captum's)
RULES = ("rescale", "reveal-cancel")


def _halves(t):
    half = ops.shape(t)[0] // 2
    return t[:half], t[half:]


def _with_gradient(value, modified):
    """``value``, differentiated as ``modified``."""
    stop = ops.stop_gradient
    return stop(value) + (modified - stop(modified))


def _safe_ratio(numerator, denominator, small):
    return ops.where(small, 0.0, numerator / ops.where(small, 1.0, denominator))


class Lift:
    """DeepLIFT through one network with one rule: every operation's multiplier, checked before
    any work (UserError for an operation with none)."""

    def __init__(self, network, rule: str):
        self.network, self.rule = network, rule
        self.model = network.inference_model
        self.target, self.fused = network.score_layer()
        method = "DeepLIFT" if rule == "rescale" else "DeepLIFT RevealCancel"
        self.nodes = Walk(self.model, self.target, method).nodes
        for path, node in self.nodes.items():
            if node.kind == "activation" and _is_softmax(node.operation):
                raise UserError(f"layer '{path}' is a softmax inside the network: {method} has "
                                "no multiplier for it")
        self.folds = foldable(self.nodes)  # a model not copied for inference: folded as it runs
        if rule == "reveal-cancel":
            self._check_reveal_cancel()
        self._contributions = {}  # id(a tensor of the replay) -> its (positive, negative) change
        self._inputs = {}  # id(a folded layer's output) -> its input, for its normalization

    def _check_reveal_cancel(self):
        for path, node in self.nodes.items():
            follows = ["weighted" if source in self.folds else self.nodes[source].kind
                       for source in node.sources]
            if node.kind == "activation" and (len(follows) != 1 or follows[0] not in ("weighted",
                                                                                        "sum")):
                raise UserError(f"RevealCancel splits the input of a nonlinearity into the "
                                f"contributions of the layer before it; '{path}' follows "
                                f"{', '.join(follows) or 'the input'}, not a layer with weights "
                                "or a sum")

    # -- the replay ------------------------------------------------------------------------------
    def _call(self, operation, path, args, kwargs):
        node = self.nodes[path]
        if self.rule == "reveal-cancel" and path in self.folds.values():
            output = linear_output(operation, args[0])
            self._inputs[id(output)] = args[0]  # its normalization makes the contributions
            return output
        if self.rule == "reveal-cancel" and path in self.folds:
            return self._weighted(self.folds[path], self._inputs[id(args[0])], operation)
        if node.kind == "weighted":
            return self._weighted(path, args[0])
        output = operation(*args, **kwargs)
        if node.kind == "activation":
            return self._nonlinear(args[0], output, operation)
        if node.kind == "max-pool":
            return self._max_pool(operation, args[0], output)
        if node.kind == "sum" and self.rule == "reveal-cancel":
            self._contributions[id(output)] = self._sum_contributions(keras.tree.flatten(args))
        return output

    def _weighted(self, path: str, a, normalization=None):
        operation = self.nodes[path].operation
        z = linear_output(operation, a, normalization=normalization)
        if self.rule == "reveal-cancel":
            self._contributions[id(z)] = self._layer_contributions(operation, a, normalization)
        activation = activation_of(operation)
        if activation is None or (path == self.target and self.fused):
            return z
        return self._nonlinear(z, activation(z), activation)

    def _nonlinear(self, x, y, function):
        """``y = function(x)`` with DeepLIFT's multiplier as its gradient (the input's half)."""
        (x1, x0), (y1, y0) = _halves(x), _halves(y)
        if self.rule == "reveal-cancel":
            modified = self._reveal_cancel(x, function, y1, y0)
        else:
            small = ops.stop_gradient(ops.abs(x1 - x0) < EPSILON)
            multiplier = ops.stop_gradient(_safe_ratio(y1 - y0, x1 - x0, small))
            modified = ops.where(small, y1, x1 * multiplier)
        return ops.concatenate([_with_gradient(y1, modified), ops.stop_gradient(y0)], axis=0)

    def _max_pool(self, pool, x, y):
        """captum's rule: the output's change goes to the input's winner (its part above the
        reference's output) and to the reference's winner (the rest), over the input's change;
        the gradient where the input hardly changed."""
        stop = ops.stop_gradient
        (x1, x0), (y1, y0) = _halves(x), _halves(y)
        small = stop(ops.abs(x1 - x0) < EPSILON)
        scale = stop(_safe_ratio(ops.ones_like(x1), x1 - x0, small))
        through = (x1 - stop(x1)) * scale  # the input's gradient, over its change
        larger = stop(ops.maximum(y1, y0))
        modified = (pool(stop(x1) + through) * stop(larger - y0)
                    + pool(stop(x0) + through) * stop(y1 - larger)
                    + pool(stop(x1) + (x1 - stop(x1)) * ops.cast(small, x1.dtype)))
        return ops.concatenate([_with_gradient(y1, modified), stop(y0)], axis=0)

    # -- RevealCancel ----------------------------------------------------------------------------
    def _layer_contributions(self, layer, a, normalization=None):
        """``(positive, negative)``: the sums of the positive and of the negative contributions
        w (a - a0) to each output of a layer with weights, differentiable in the input's half."""
        a1, a0 = _halves(a)
        change = a1 - ops.stop_gradient(a0)
        up = change * ops.stop_gradient(ops.cast(change > 0, change.dtype))
        down = change - up

        def through(part, weights):
            return linear_output(layer, part, weights, True, normalization)

        return (through(up, _positive) + through(down, _negative),
                through(up, _negative) + through(down, _positive))

    def _sum_contributions(self, inputs):
        positive = negative = 0.0
        for value in inputs:
            v1, v0 = _halves(value)
            change = v1 - ops.stop_gradient(v0)
            up = change * ops.stop_gradient(ops.cast(change > 0, change.dtype))
            positive, negative = positive + up, negative + (change - up)
        return positive, negative

    def _reveal_cancel(self, x, function, y1, y0):
        """The nonlinearity's output change as m+ dx+ + m- dx-, differentiable through the
        contributions dx+ and dx- (Shrikumar et al. 2017, section 3.5.3)."""
        stop = ops.stop_gradient
        positive, negative = self._contributions[id(x)]
        up, down = stop(positive), stop(negative)
        _, x0 = _halves(x)
        x0 = stop(x0)
        dy_up = 0.5 * (function(x0 + up) - function(x0)) + \
            0.5 * (function(x0 + down + up) - function(x0 + down))
        dy_down = 0.5 * (function(x0 + down) - function(x0)) + \
            0.5 * (function(x0 + up + down) - function(x0 + up))
        m_up = stop(_safe_ratio(dy_up, up, ops.abs(up) < EPSILON))
        m_down = stop(_safe_ratio(dy_down, down, ops.abs(down) < EPSILON))
        return positive * m_up + negative * m_down

    # -- the attributions ------------------------------------------------------------------------
    def multipliers(self, x: np.ndarray, references: np.ndarray, classes) -> np.ndarray:
        """The multipliers of each input value of ``x`` (B, H, W, C) to its class's logit, with
        ``references`` (B, H, W, C)."""
        def fn(images, reference, seed):
            def explained(z):
                self._contributions, self._inputs = {}, {}
                logits = graph.replay(self.model, ops.concatenate([z, reference], axis=0),
                                      [self.target], self._call)[self.target]
                return ops.sum(logits[:ops.shape(z)[0]] * ops.cast(seed, logits.dtype))

            return gradients.value_and_gradient(explained, images)[1]

        compiled = self.network._compile(("deeplift", self.rule), fn)
        return ops.convert_to_numpy(compiled(np.asarray(x, np.float32),
                                             np.asarray(references, np.float32),
                                             self.network.onehot(classes)))


def _positive(w):
    return ops.maximum(w, 0.0)


def _negative(w):
    return ops.minimum(w, 0.0)


def _is_softmax(operation) -> bool:
    return isinstance(operation, keras.layers.Softmax) or getattr(
        activation_of(operation), "__name__", None) == "softmax"


def lift(network, rule: str) -> Lift:
    """The network's :class:`Lift` for ``rule``, made once."""
    return network.kept(("deeplift", rule), lambda: Lift(network, rule))


def check(network, settings, image_size, rule: str = "rescale") -> None:
    """Every operation has a multiplier (UserError), before any work."""
    lift(network, rule)


def deeplift(request, rule: str = "rescale") -> np.ndarray:
    """The attribution method: (x - reference) times the multipliers, (B, H, W, C), the
    reference being each image's baseline (the ``baseline`` setting)."""
    x, references = request.x, request.baselines
    return (x - references) * lift(request.network, rule).multipliers(x, references,
                                                                       request.classes)


def deepshap(request) -> np.ndarray:
    """The attribution method: Rescale's attributions averaged over the background set (the
    request's, or ``background_size`` uniform noise images between the input's bounds), the B x
    N pairs evaluated in chunks of ``batch_size``."""
    background = _background(request)
    count = len(background)
    rows = np.repeat(np.arange(len(request.x)), count)
    references = np.tile(np.arange(count), len(request.x))
    model = lift(request.network, "rescale")

    def chunk(images, refs):
        x, r = request.x[images], background[refs]
        return (x - r) * model.multipliers(x, r, request.classes[images])

    total = in_chunks(chunk, rows, references, size=request.settings.batch_size)
    return total.reshape(len(request.x), count, *request.x.shape[1:]).mean(axis=1)


def _background(request) -> np.ndarray:
    if request.background is not None:
        return np.asarray(request.background, np.float32)
    from nnvisual.attribution.lrp.propagate import PIXEL_BOUNDS

    low, high = request.network.input_bounds or PIXEL_BOUNDS
    shape = (request.settings.background_size, *request.x.shape[1:])
    noise = np.random.default_rng(request.settings.seed).uniform(0, 1, shape)
    return (np.asarray(low) + noise * (np.asarray(high) - np.asarray(low))).astype(np.float32)
