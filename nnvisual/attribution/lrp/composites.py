"""LRP composites: which rule each layer with weights gets (zennit's composites, by their names
and meaning; Anders et al. 2021), and a user's own mapping by layer type or name.

A composite maps the kinds of layer with weights, ``dense`` and ``conv`` (every convolution,
depthwise ones included), and optionally the ``first`` layer (the network's input layer), to a
rule of :mod:`nnvisual.attribution.lrp.rules`. Activations pass relevance on unchanged, sums and
average poolings share it in proportion to their inputs (the Norm rule), max poolings give it to
the winner, and batch normalizations are folded into the layer before them (or pass it on).

``lrp_rules`` (a setting: ``"conv=gamma,dense=epsilon,first=flat,block1_conv1=z-plus"``) sets
a rule per layer type or per layer path on top of the composite, names winning over types, as
zennit's ``NameLayerMapComposite`` does.
"""

from __future__ import annotations

import dataclasses

from nnvisual.attribution.lrp.rules import RULES

TYPES = ("dense", "conv", "first")


@dataclasses.dataclass(frozen=True)
class Composite:
    """A rule per type of layer with weights (``dense``, ``conv`` and, if set, ``first``), and
    the rules' parameters it fixes (``lrp_alpha``, ``lrp_beta``, ``lrp_epsilon``), which
    override the settings'."""

    rules: tuple[tuple[str, str], ...]
    fixed: tuple[tuple[str, float], ...] = ()

    def mapping(self) -> dict[str, str]:
        return dict(self.rules)


def _composite(conv: str, dense: str = "epsilon", first: str | None = None, **fixed) -> Composite:
    rules = (("conv", conv), ("dense", dense)) + ((("first", first),) if first else ())
    return Composite(rules, tuple(fixed.items()))


# zennit's composites, under their names; iNNvestigate's sequential presets (alpha-beta on
# convolutions, epsilon 0.1 on dense layers; Alber et al. 2019); and one rule everywhere
COMPOSITES = {
    "epsilon-plus": _composite("z-plus"),
    "epsilon-plus-flat": _composite("z-plus", first="flat"),
    "epsilon-gamma-box": _composite("gamma", first="z-box"),
    "epsilon-alpha2-beta1": _composite("alpha-beta", lrp_alpha=2.0, lrp_beta=1.0),
    "epsilon-alpha2-beta1-flat": _composite("alpha-beta", first="flat", lrp_alpha=2.0,
                                            lrp_beta=1.0),
    "sequential-preset-a": _composite("alpha-beta", lrp_alpha=1.0, lrp_beta=0.0, lrp_epsilon=0.1),
    "sequential-preset-b": _composite("alpha-beta", lrp_alpha=2.0, lrp_beta=1.0, lrp_epsilon=0.1),
    "zero": _composite("zero", dense="zero"),
    "epsilon": _composite("epsilon"),
    "gamma": _composite("gamma", dense="gamma"),
    "z-plus": _composite("z-plus", dense="z-plus"),
    "alpha1-beta0": _composite("alpha-beta", dense="alpha-beta", lrp_alpha=1.0, lrp_beta=0.0),
    "alpha2-beta1": _composite("alpha-beta", dense="alpha-beta", lrp_alpha=2.0, lrp_beta=1.0),
}


def parse_rules(spec: str | None) -> dict[str, str]:
    """``{type or layer path: rule}`` of ``"conv=gamma,dense=epsilon,block1_conv1=z-plus"``;
    ValueError naming what is wrong."""
    mapping = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        key, sep, rule = (part.strip() for part in item.partition("="))
        if not sep or not key or rule not in RULES:
            raise ValueError(f"lrp_rules: '{item.strip()}' is not TYPE=RULE or LAYER=RULE with a "
                             f"rule among {', '.join(RULES)} (types: {', '.join(TYPES)})")
        mapping[key] = rule
    return mapping


def rule_for(composite: str, overrides: dict[str, str], path: str, kind: str, first: bool) -> str:
    """The rule of the layer at ``path`` (``kind``: ``dense`` or ``conv``; ``first``: it reads
    the network's input): a name in ``overrides``, then ``first``, then its type, each from the
    overrides before the composite."""
    mapping = {**COMPOSITES[composite].mapping(), **overrides}
    if path in overrides:
        return overrides[path]
    if first and "first" in mapping:
        return mapping["first"]
    return mapping[kind]
