"""zennit (Anders et al. 2021), the PyTorch LRP toolbox, as the reference of nnvisual's LRP: its
rules and composites for nnvisual's composites, the canonizers the PyTorch twins need, and the
relevance of an input for one class (nnvisual/testing/lrp_reference.py).

- **Seed**: the explained logit times the one-hot (``attr_output``), since nnvisual's relevance
  at the top is the logit.
- **Batch normalizations** are merged into the convolution before them (:func:`merge_batch_norm`,
  zennit's ``NamedMergeBatchNorm`` on every convolution-BN pair of siblings). zennit 0.5.1's merge
  leaves the batch normalization computing x / sqrt(1 + eps) instead of the identity (fixed after
  0.5.1: chr5tphr/zennit#171, #240): with Keras' and timm's eps of 1e-3 that scales each merged
  layer's output by 0.9995; the merge here makes it the identity exactly (variance 0.5, eps 0.5,
  as zennit's fix does). zennit's ``SequentialMergeBatchNorm`` would not merge timm's at all: it
  pairs leaf modules, and timm's ``BatchNormAct2d`` is not a leaf.
- **timm's blocks** (EfficientNet-Lite0): ``BatchNormAct2d`` is a batch normalization followed by
  its ReLU6 (``act``), one module; merged, it is the ReLU6, which gets zennit's Pass rule
  (``nn.ReLU6`` is among ``zennit.types.Activation``; the module itself, a ``BatchNorm2d``, gets
  Pass too). The residual sum of an ``InvertedResidual`` block is written as ``zennit.layer.Sum``
  over the two branches stacked (:func:`residual_sum`), so that it gets the Norm rule, as
  zennit's ResNet canonizer does for torchvision's blocks.
- :func:`hooks` lists which module got which rule: a module with no rule is differentiated by
  autograd, silently, so the tests check the list.

zennit imports torchvision at import time; :func:`import_zennit` makes it importable where the
registry's torchvision does not load against the CPU torch, and stubs the one module zennit reads
where torchvision is absent.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest

from nnvisual.testing import torch_reference


def import_zennit():
    """zennit, or a skip when torch or zennit is not installed (the reference extra)."""
    torch = pytest.importorskip("torch", reason="torch is not installed (the reference extra)")
    if importlib.util.find_spec("zennit") is None:
        pytest.skip("zennit is not installed (the reference extra)")
    if "zennit" not in sys.modules and not _torchvision_imports(torch):
        _stub_torchvision()
    import zennit.attribution
    import zennit.canonizers
    import zennit.composites
    import zennit.layer
    import zennit.rules
    import zennit.types

    return zennit


def _torchvision_imports(torch) -> bool:
    if "torchvision.models.resnet" in sys.modules:
        return True
    if importlib.util.find_spec("torchvision") is None:
        return False
    torch_reference.declare_torchvision_ops(torch)
    try:
        import torchvision.models.resnet  # noqa: F401
    except Exception:  # any failure of a broken build: fall back to the stub
        for name in [name for name in sys.modules if name.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        return False
    return True


def _stub_torchvision():
    """``torchvision.models.resnet`` with the two block classes zennit's ResNet canonizer names."""
    names = ("torchvision", "torchvision.models", "torchvision.models.resnet")
    modules = {name: types.ModuleType(name) for name in names}
    for parent, child in zip(names, names[1:], strict=False):
        setattr(modules[parent], child.rsplit(".", 1)[1], modules[child])
    for block in ("Bottleneck", "BasicBlock"):
        setattr(modules["torchvision.models.resnet"], block, type(block, (), {}))
    sys.modules.update(modules)


# -- canonizers ----------------------------------------------------------------------------------
def merge_pairs(net) -> list[tuple[tuple[str], str]]:
    """``[((convolution,), batch normalization)]`` by name: each batch normalization registered
    right after a convolution or linear layer of the same parent (timm's and the twins' order)."""
    zennit = import_zennit()
    pairs = []
    for prefix, module in net.named_modules():
        children = list(module.named_children())
        for (name, child), (next_name, following) in zip(children, children[1:], strict=False):
            if isinstance(child, zennit.types.Linear) and isinstance(following, zennit.types.BatchNorm):
                dot = f"{prefix}." if prefix else ""
                pairs.append(((f"{dot}{name}",), f"{dot}{next_name}"))
    return pairs


def merge_batch_norm(net):
    """A canonizer merging every batch normalization of ``net`` into the convolution before it,
    leaving the identity (see the module docstring)."""
    zennit = import_zennit()
    import torch

    class MergeBatchNorm(zennit.canonizers.NamedMergeBatchNorm):
        def register(self, linears, batch_norm):
            super().register(linears, batch_norm)
            self.eps = batch_norm.eps
            batch_norm.running_var.data = torch.full_like(batch_norm.running_var, 0.5)
            batch_norm.eps = 0.5  # sqrt(0.5 + 0.5) = 1: the identity, with a positive eps

        def remove(self):
            super().remove()
            self.batch_norm.eps = self.eps

    return MergeBatchNorm(merge_pairs(net))


def residual_sum():
    """A canonizer writing the residual sum of timm's ``InvertedResidual`` and
    ``DepthwiseSeparableConv`` blocks as ``zennit.layer.Sum`` (their forward, otherwise the same)."""
    zennit = import_zennit()
    import torch
    from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual

    def forward(self, x):
        shortcut = x
        for name in self.order:
            x = getattr(self, name)(x)
        return self.canonizer_sum(torch.stack([shortcut, self.drop_path(x)], dim=-1))

    def attributes(name, module):
        if not isinstance(module, (InvertedResidual, DepthwiseSeparableConv)) or not module.has_skip:
            return None
        assert module.conv_s2d is None, name
        order = (("conv_pw", "bn1", "conv_dw", "bn2", "aa", "se", "conv_pwl", "bn3")
                 if isinstance(module, InvertedResidual)
                 else ("conv_dw", "bn1", "aa", "se", "conv_pw", "bn2"))
        return {"forward": forward.__get__(module), "order": order, "canonizer_sum": zennit.layer.Sum()}

    return zennit.canonizers.AttributeCanonizer(attributes)


def canonizers(net, timm_blocks: bool) -> list:
    """The canonizers of ``net``: batch normalizations merged, and for timm's networks
    (``timm_blocks``) the residual sums as ``Sum`` modules."""
    return [merge_batch_norm(net)] + ([residual_sum()] if timm_blocks else [])


# -- rules and composites ------------------------------------------------------------------------
def rule(name: str, settings, bounds):
    """zennit's hook for nnvisual's rule ``name`` with the parameters of ``settings``
    (``lrp_epsilon`` ...); ``bounds``: the input's ``(low, high)`` for z-box, NCHW tensors."""
    rules = import_zennit().rules
    stabilizer = settings.lrp_stabilizer
    made = {
        "zero": lambda: rules.Epsilon(epsilon=0.0),
        "epsilon": lambda: rules.Epsilon(epsilon=settings.lrp_epsilon),
        "gamma": lambda: rules.Gamma(gamma=settings.lrp_gamma, stabilizer=stabilizer),
        "alpha-beta": lambda: rules.AlphaBeta(alpha=settings.lrp_alpha, beta=settings.lrp_beta,
                                              stabilizer=stabilizer),
        "z-plus": lambda: rules.ZPlus(stabilizer=stabilizer),
        "w-square": lambda: rules.WSquare(stabilizer=stabilizer),
        "flat": lambda: rules.Flat(stabilizer=stabilizer),
        "z-box": lambda: rules.ZBox(low=bounds[0], high=bounds[1], stabilizer=stabilizer),
    }
    return made[name]()


def named_composite(name: str, settings, bounds, canonizers_: list):
    """zennit's own composite ``name`` (one of nnvisual's names of zennit's composites), built
    with zennit's classes and nnvisual's parameters."""
    composites = import_zennit().composites
    common = {"epsilon": settings.lrp_epsilon, "stabilizer": settings.lrp_stabilizer,
              "canonizers": canonizers_}
    made = {
        "epsilon-plus": lambda: composites.EpsilonPlus(**common),
        "epsilon-plus-flat": lambda: composites.EpsilonPlusFlat(**common),
        "epsilon-gamma-box": lambda: composites.EpsilonGammaBox(low=bounds[0], high=bounds[1],
                                                                gamma=settings.lrp_gamma, **common),
        "epsilon-alpha2-beta1": lambda: composites.EpsilonAlpha2Beta1(**common),
        "epsilon-alpha2-beta1-flat": lambda: composites.EpsilonAlpha2Beta1Flat(**common),
    }
    return made[name]()


def mapped_composite(conv: str, dense: str, first: str | None, names: dict[str, str], settings, bounds,
                     canonizers_: list):
    """A composite of zennit's parts: rule ``conv`` on convolutions, ``dense`` on linear layers,
    ``first`` on the first of either (None: theirs), ``names`` ({module name: rule}) before all,
    and zennit's base map (Pass for activations and batch normalizations, Norm for sums and
    average poolings)."""
    zennit = import_zennit()
    import torch

    composites, kinds = zennit.composites, zennit.types
    layer_map = composites.layer_map_base(settings.lrp_stabilizer) + [
        (kinds.Convolution, rule(conv, settings, bounds)), (torch.nn.Linear, rule(dense, settings, bounds))]
    first_map = [] if first is None else [(kinds.Linear, rule(first, settings, bounds))]
    by_name = composites.NameMapComposite([((module,), rule(name, settings, bounds))
                                           for module, name in names.items()])
    by_type = composites.SpecialFirstLayerMapComposite(layer_map, first_map)
    return composites.MixedComposite([by_name, by_type], canonizers=canonizers_)


def hooks(net, composite) -> list[tuple[str, object, str | None]]:
    """``(name, module, the class of the rule zennit registered on it or None)`` of every module
    of ``net`` while ``composite`` (with its canonizers) is registered."""
    found = []
    with composite.context(net):
        for name, module in net.named_modules():
            owners = [getattr(hook, "__self__", None) for hook in module._forward_pre_hooks.values()]
            rules = [type(owner).__name__ for owner in owners
                     if owner is not None and type(owner).__module__.startswith("zennit")]
            found.append((name, module, rules[0] if rules else None))
    return found


def relevance(net, composite, x: np.ndarray, classes) -> np.ndarray:
    """zennit's relevance (B, H, W, C) of model inputs ``x`` (B, H, W, C) for ``classes``, the
    output seeded with the logits times the one-hot; float64."""
    zennit = import_zennit()
    import torch

    inputs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()

    def seed(output):
        onehot = torch.nn.functional.one_hot(torch.as_tensor(np.asarray(classes)), output.shape[1])
        return output.detach() * onehot

    with zennit.attribution.Gradient(model=net, composite=composite) as attributor:
        _, maps = attributor(inputs, seed)
    return maps.detach().double().numpy().transpose(0, 2, 3, 1)
