"""Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) through any graph
nnvisual replays: the model's inference-only copy (batch normalizations folded into the layer
before them: the canonization zennit's ``MergeBatchNorm`` makes) is replayed with every
operation given its rule (:mod:`~nnvisual.attribution.lrp.rules` for the layers with weights,
their modified weights computed from the layer's own variables as it runs: no copies, and weights
changed in place are followed), and one backward pass of the explained logit gives the relevance
of every input value.

Per kind of operation (:mod:`nnvisual.attribution.layer_kinds`):

- a layer with weights: its composite's rule; its fused activation, if any, passes relevance on;
- an activation (ReLU, ReLU6, LeakyReLU, any other): passes relevance on unchanged (zennit's Pass);
- a sum (``Add``, ``Average``) and an average pooling: the Norm rule, each input getting its
  share of the output's relevance in proportion to its value (zennit's canonized ``Sum``);
- a max pooling: all to the winner (the gradient);
- a batch normalization that could not be folded: passes relevance on;
- reshaping, concatenation, padding, dropout: the gradient (relevance moves, none is made);
- preprocessing before the first layer with weights (``Rescaling``, ``Normalization``): passes
  relevance on, so the map is in the model's input, value for value.

A zero padding right before the first layer (TensorFlow's "same" padding of a strided stem) is
part of that layer for its rule, as inside a padded convolution: the rules that read ones or the
box bounds see zeros there.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import ops

from nnvisual import graph
from nnvisual.attribution.layer_kinds import Walk, activation_of, foldable, linear_output
from nnvisual.attribution.lrp import rules
from nnvisual.attribution.lrp.composites import COMPOSITES, parse_rules, rule_for
from nnvisual.errors import UserError
from nnvisual.graph import gradients

PIXEL_BOUNDS = (0.0, 255.0)  # the input's range when the network was given none


def _passed(before, after):
    """``after`` (a function of ``before``, elementwise) with relevance passed on unchanged:
    the gradient to ``before`` is ``after / before`` times the upstream gradient."""
    stop = ops.stop_gradient
    ratio = ops.where(ops.equal(before, 0), 0.0, after / ops.where(ops.equal(before, 0), 1.0, before))
    modified = before * stop(ratio)
    return stop(after) + (modified - stop(modified))


def _normed(inputs, output, stabilizer: float):
    """``output``, a sum of ``inputs`` (or a pooling of one), with the Norm rule's gradient."""
    stop = ops.stop_gradient
    share = stop(output / rules.stabilize(output, stabilizer))
    modified = inputs * share
    return stop(output) + (modified - stop(modified))


@dataclasses.dataclass(frozen=True)
class LrpSettings:
    """What decides the propagation: the composite, the rules given by type or layer, and the
    rules' parameters (the settings of :class:`~nnvisual.attribution.request.Settings`, with
    those the composite fixes)."""

    composite: str
    rules: tuple[tuple[str, str], ...]
    lrp_epsilon: float
    lrp_gamma: float
    lrp_alpha: float
    lrp_beta: float
    lrp_stabilizer: float

    @classmethod
    def of(cls, composite: str, settings) -> LrpSettings:
        values = {name: getattr(settings, name) for name in
                  ("lrp_epsilon", "lrp_gamma", "lrp_alpha", "lrp_beta", "lrp_stabilizer")}
        values.update(dict(COMPOSITES[composite].fixed))
        try:
            overrides = parse_rules(settings.lrp_rules)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        return cls(composite, tuple(sorted(overrides.items())), **values)

    def epsilon(self, rule: rules.Rule) -> float:
        return {"lrp_epsilon": self.lrp_epsilon, "lrp_stabilizer": self.lrp_stabilizer,
                "zero": 1e-12}[rule.epsilon_setting]


class Propagation:
    """LRP of one network under one composite: each layer's rule, found once; UserError before
    any work for an operation with no rule, or a rule where it cannot apply."""

    def __init__(self, network, lrp: LrpSettings):
        self.network, self.lrp = network, lrp
        self.model = network.inference_model
        self.target, self.fused = network.score_layer()
        walk = Walk(self.model, self.target, "LRP")
        self.nodes = walk.nodes
        first = walk.first_layers()
        overrides = dict(lrp.rules)
        unknown = sorted(set(overrides) - {"dense", "conv", "first"} - set(self.nodes))
        if unknown:
            folded = [name for name in unknown if name in {path for path, _ in graph.layers(network.model)}]
            raise UserError(
                f"lrp_rules names {', '.join(unknown)}, which is neither a type (dense, conv, "
                "first) nor a layer on the path to the scores"
                + (f"; {', '.join(folded)} is folded into the batch normalization after it: name "
                   "that one" if folded else ""))
        self.rules = {}
        for path, node in self.nodes.items():
            if node.kind != "weighted":
                continue
            kind = "dense" if isinstance(node.operation, keras.layers.Dense) else "conv"
            rule = rules.rule(rule_for(lrp.composite, overrides, path, kind, path in first), lrp)
            if rule.first_layer_only and path not in first:
                raise UserError(f"the {rule.name} rule ignores a layer's input: it is for the "
                                f"network's first layer, not '{path}'")
            self.rules[path] = rule
        self.first = first
        self.padding = self._fused_paddings(walk)
        self.folds = foldable(self.nodes)  # a model not copied for inference: folded as it runs
        self.folded = set(self.folds.values())
        self._inputs = {}  # id(a folded layer's output) -> its input, for its normalization
        self.uses_bounds = any(self.rules[path].name == "z-box" for path in first)

    def _fused_paddings(self, walk: Walk) -> dict[str, tuple]:
        """``{first layer: its padding}`` where a zero padding feeds only that layer."""
        found = {}
        for path in walk.first_layers():
            sources = self.nodes[path].sources
            if (len(sources) == 1 and isinstance(self.nodes[sources[0]].operation,
                                                 keras.layers.ZeroPadding2D)
                    and walk.readers(sources[0]) == [path]):
                found[path] = self.nodes[sources[0]].operation.padding
        return found

    # -- the replay ------------------------------------------------------------------------------
    def _call(self, operation, path, args, kwargs):
        node = self.nodes[path]
        if path in self.folded:  # its normalization applies the rule, folded
            output = linear_output(operation, args[0])
            self._inputs[id(output)] = args[0]
            return output
        if path in self.folds:
            return self._weighted(self.folds[path], self._inputs[id(args[0])], operation)
        if node.kind == "weighted":
            return self._weighted(path, args[0])
        output = operation(*args, **kwargs)
        if node.kind in ("activation", "batch-norm", "preprocessing"):
            if node.after_weights:
                return _passed(args[0], output)
            stop = ops.stop_gradient  # before the first layer relevance is the gradient itself
            return stop(output) + (args[0] - stop(args[0]))
        if node.kind == "sum":
            return _normed(sum(keras.tree.flatten(args)) if isinstance(operation, keras.layers.Add)
                           else operation(*args, **kwargs), output, self.lrp.lrp_stabilizer)
        if node.kind == "average-pool":
            return _normed(output, output, self.lrp.lrp_stabilizer)
        return output

    def _weighted(self, path: str, x, normalization=None):
        """The layer at ``path`` on ``x`` with its rule (folded with ``normalization``, if given)."""
        operation, rule = self.nodes[path].operation, self.rules[path]

        def layer(t, modify=None, zero_bias=False):
            return linear_output(operation, t, modify, zero_bias, normalization)

        terms = [lambda t, term=term: layer(t, term.weights, term.zero_bias) for term in rule.terms]
        first = path in self.first
        bounds = None
        if first and self.uses_bounds:
            x, bounds = x[:-2], (x[-2:-1], x[-1:])
        pad = None
        if first and path in self.padding:  # the padding as part of the layer (module docstring)
            (top, bottom), (left, right) = self.padding[path]
            pad = [[0, 0], [top, bottom], [left, right], [0, 0]]
            height, width = x.shape[1] - top - bottom, x.shape[2] - left - right
            x = x[:, top:top + height, left:left + width]
            bounds = None if bounds is None else tuple(b[:, top:top + height, left:left + width]
                                                       for b in bounds)
            terms = [lambda t, term=term: term(ops.pad(t, pad)) for term in terms]
        z = layer(x if pad is None else ops.pad(x, pad))
        output = rules.apply(rule, terms, x, z, self.lrp.epsilon(rule), first, bounds)
        activation = activation_of(operation)
        if activation is not None and not (path == self.target and self.fused):
            output = _passed(output, activation(output))
        if bounds is not None:  # the bounds' rows go on as the layer computes them
            rows = ops.concatenate([bounds[0], bounds[1]])
            rows = layer(rows if pad is None else ops.pad(rows, pad))
            rows = rows if activation is None else activation(rows)
            output = ops.concatenate([output, ops.stop_gradient(rows)], axis=0)
        return output

    def scores(self, x):
        """The logits of ``x`` (with the bounds' two rows after it, when a rule needs them)."""
        self._inputs = {}
        return graph.replay(self.model, x, [self.target], self._call)[self.target]

    def relevance(self, x: np.ndarray, classes) -> np.ndarray:
        """The relevance of every input value (B, H, W, C) of ``x`` for ``classes``; it sums to
        the explained logit where the rules conserve it."""
        def explained(z, seed, extra_rows):
            stacked = z if extra_rows is None else ops.concatenate([z, extra_rows], axis=0)
            logits = self.scores(stacked)
            return ops.sum(logits[:ops.shape(z)[0]] * ops.cast(seed, logits.dtype))

        def plain(images, seed):
            return gradients.value_and_gradient(lambda z: explained(z, seed, None), images)[1]

        def bounded(images, seed, low_high):
            return gradients.value_and_gradient(lambda z: explained(z, seed, low_high), images)[1]

        arguments = [np.asarray(x, np.float32), self.network.onehot(classes)]
        if self.uses_bounds:
            arguments.append(self._bounds(x.shape[1:]))
        compiled = self.network._compile(("lrp", self.lrp), bounded if self.uses_bounds else plain)
        return ops.convert_to_numpy(compiled(*arguments))

    def _bounds(self, shape):
        """The input's low and high as two rows of images."""
        low, high = self.network.input_bounds or PIXEL_BOUNDS
        return np.stack([np.broadcast_to(np.asarray(low, np.float32), shape),
                         np.broadcast_to(np.asarray(high, np.float32), shape)])


def propagation(network, composite: str, settings) -> Propagation:
    """The network's :class:`Propagation` for ``composite`` under ``settings``, made once."""
    lrp = LrpSettings.of(composite, settings)
    return network.kept(("lrp", lrp), lambda: Propagation(network, lrp))


def check(network, settings, image_size, composite: str) -> None:
    """Every operation has a rule and every rule fits its layer (UserError), before any work."""
    propagation(network, composite, settings)


def lrp(request, composite: str) -> np.ndarray:
    """The attribution method: the relevance (B, H, W, C) of ``composite`` (a key of
    :data:`~nnvisual.attribution.lrp.composites.COMPOSITES`) for each image's class."""
    return propagation(request.network, composite, request.settings).relevance(request.x,
                                                                               request.classes)
