"""The LRP rules of a layer with weights (Bach et al. 2015; Montavon et al. 2019), as zennit writes
them (Anders et al. 2021, ``zennit.rules``): a rule is a few *terms*, each the layer evaluated on
a part of its input with modified weights; the terms of a *group* share one stabilized
denominator, and the relevance R of the layer's output goes back to its input as

    R_in = sum_k  sign_k  x_k * J_k^T ( mask_g(z) R / stabilize(sum_{k in g} z_k) )

where x_k is the term's input part (x, x+, x-, ones, or the box bounds), J_k the Jacobian of the
term's output z_k with respect to it, z the layer's own output and g the term's group.

How it runs: relevance is carried as a modified gradient. Every tensor t of the replayed graph
holds relevance ``t * g_t`` (g_t: the gradient of the explained score with respect to t), and a
rule makes the gradient through its layer what the formula needs, without touching the forward
values: the layer computes its true output, plus a term whose value cancels and whose gradient
is the rule's (:func:`apply`). The first layer of the network is evaluated with its input parts
multiplied by a stand-in of value 1 whose gradient is the input's, so that the gradient there *is*
the relevance: that is where the rules that ignore the input (flat, w-square) or add the box
bounds (z-box) apply, and only there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from keras import ops

INPUT_PARTS = ("x", "positive", "negative", "ones", "low", "high")


def stabilize(z, epsilon: float):
    """``z + epsilon * sign(z)``, with sign(0) = 1 (zennit's ``stabilize``)."""
    sign = ops.where(ops.greater_equal(z, 0), 1.0, -1.0)
    return z + epsilon * ops.cast(sign, z.dtype)


@dataclasses.dataclass(frozen=True)
class Term:
    """One term of a rule: the layer on an input part with its weights modified."""

    inputs: str  # one of INPUT_PARTS
    weights: Callable  # applied to the kernel and the bias (tensors: keras.ops)
    zero_bias: bool = False
    sign: float = 1.0  # the term's factor in the relevance (alpha, -beta, -1 for the bounds)
    group: int = 0


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule: its terms, and per group which outputs it explains (``all``, ``positive`` or
    ``negative`` outputs z of the layer) and how its denominator is stabilized."""

    name: str
    terms: tuple[Term, ...]
    explains: tuple[str, ...] = ("all",)
    epsilon_setting: str = "lrp_stabilizer"  # the setting that stabilizes the denominators
    first_layer_only: bool = False  # ignores the layer's input: only at the network's input


def same(w):
    return w


def positive(w):
    return ops.maximum(w, 0.0)


def negative(w):
    return ops.minimum(w, 0.0)


def _gamma(gamma: float, part: Callable) -> Callable:
    return lambda w: w + gamma * part(w)


def rule(name: str, settings) -> Rule:
    """The rule ``name`` (a key of :data:`RULES`) with the parameters of ``settings``."""
    return RULES[name](settings)


RULES: dict[str, Callable] = {
    "zero": lambda s: Rule("zero", (Term("x", same),), epsilon_setting="zero"),
    "epsilon": lambda s: Rule("epsilon", (Term("x", same),), epsilon_setting="lrp_epsilon"),
    "z-plus": lambda s: Rule("z-plus", (Term("positive", positive),
                                        Term("negative", negative, zero_bias=True))),
    "alpha-beta": lambda s: Rule("alpha-beta", (
        Term("positive", positive, sign=s.lrp_alpha),
        Term("negative", negative, zero_bias=True, sign=s.lrp_alpha),
        Term("positive", negative, sign=-s.lrp_beta, group=1),
        Term("negative", positive, zero_bias=True, sign=-s.lrp_beta, group=1)), ("all", "all")),
    "gamma": lambda s: Rule("gamma", (
        Term("positive", _gamma(s.lrp_gamma, positive)),
        Term("negative", _gamma(s.lrp_gamma, negative), zero_bias=True),
        Term("positive", _gamma(s.lrp_gamma, negative), group=1),
        Term("negative", _gamma(s.lrp_gamma, positive), zero_bias=True, group=1)),
        ("positive", "negative")),
    "w-square": lambda s: Rule("w-square", (Term("ones", ops.square),), first_layer_only=True),
    "flat": lambda s: Rule("flat", (Term("ones", ops.ones_like, zero_bias=True),),
                           first_layer_only=True),
    "z-box": lambda s: Rule("z-box", (Term("x", same), Term("low", positive, sign=-1.0),
                                      Term("high", negative, sign=-1.0)), first_layer_only=True),
}


def _explained(z, which: str):
    if which == "positive":
        return ops.cast(ops.greater(z, 0), z.dtype)
    if which == "negative":
        return ops.cast(ops.less(z, 0), z.dtype)
    return 1.0


def apply(rule_: Rule, terms: list[Callable], x, z, epsilon: float, first: bool,
          bounds=None):
    """The layer's output ``z`` (its true value) with the gradient of ``rule_``.

    ``terms``: the layer with each term's modified weights (a callable of an input). ``x``: the
    layer's input. ``first``: the layer reads the network's input, so the input's gradient is
    made the relevance itself (the module docstring); ``bounds``: ``(low, high)`` in the space
    of ``x``, for the z-box rule."""
    stop = ops.stop_gradient
    if first:
        carrier = ops.ones_like(x) + (x - stop(x))  # value 1, gradient the input's
        parts = {"x": stop(x), "positive": stop(ops.relu(x)), "negative": stop(-ops.relu(-x)),
                 "ones": ops.ones_like(x)}
        if bounds is not None:
            parts.update(low=stop(bounds[0] + 0 * x), high=stop(bounds[1] + 0 * x))

        def part(name):
            return parts[name] * carrier
    else:
        masks = {"x": 1.0, "positive": stop(ops.cast(ops.greater(x, 0), x.dtype)),
                 "negative": stop(ops.cast(ops.less(x, 0), x.dtype))}

        def part(name):
            return x * masks[name]

    groups = sorted({term.group for term in rule_.terms})
    outputs = [layer(part(term.inputs)) for term, layer in zip(rule_.terms, terms, strict=True)]
    modified = 0.0
    for group in groups:
        members = [(term, out) for term, out in zip(rule_.terms, outputs, strict=True)
                   if term.group == group]
        denominator = stabilize(stop(sum(out * term_sign(term) for term, out in members)), epsilon)
        share = stop(z * _explained(z, rule_.explains[group]) / denominator)
        modified = modified + sum(term.sign * out for term, out in members) * share
    return stop(z) + (modified - stop(modified))


def term_sign(term: Term) -> float:
    """How a term's output enters its group's denominator: the bounds' terms are subtracted
    (zennit's z-box: z - W+ low - W- high)."""
    return -1.0 if term.inputs in ("low", "high") else 1.0
