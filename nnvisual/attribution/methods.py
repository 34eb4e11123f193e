"""The attribution methods, one row each in :data:`METHODS`: the one source of ``--method``'s
choices and help, the API's docstrings, the checks made before any work and the dispatch of
:func:`nnvisual.attribution.maps.attribute`.

Adding a method is a function ``f(request) -> attributions`` in a module of its own
(:class:`~nnvisual.attribution.request.Request` in; (B, H, W, C) per input channel, or (B, H, W)
out) and one :func:`register` call, here or from anywhere before the method is used. This
module imports nothing heavy, so ``--help`` can list the methods without loading a backend.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

CHANNEL_REDUCTIONS = ("sum", "max-abs")


@dataclasses.dataclass(frozen=True)
class Method:
    """One attribution method.

    ``compute`` names its function as ``"module:function"`` (imported when first used), called
    as ``function(request, **options)``. ``rule`` is the backward rule its gradients cross the
    network with (``gradient``, or one of :mod:`nnvisual.deconv.path`'s ``guided`` and
    ``deconvnet``, which not every layer has: checked before any work); None when it takes no
    gradient of the input or depends on a setting (SmoothGrad: its base's). ``reads_layer``: it
    reads a feature map (the CAMs; ``--layer``). ``reads_attention``: it reads a transformer's
    attention maps (and refuses a network without ``MultiHeadAttention``). ``smoothable``:
    SmoothGrad may average it.
    ``channels``: how its per-channel attributions become one map (``sum`` keeps the signed
    total, and with it completeness; ``max-abs`` is saliency's). ``settings``: the settings it
    reads, for the docs. ``check`` raises ValueError for settings that cannot work on the model
    (called when the inputs are prepared); ``wraps`` names the setting that holds the method a
    wrapper runs, whose rule it uses too."""

    name: str
    compute: str
    title: str  # what it is, with its paper: "Grad-CAM (Selvaraju et al. 2017)"
    rule: str | None = "gradient"
    reads_layer: bool = False
    reads_attention: bool = False
    smoothable: bool = False
    channels: str = "sum"
    settings: tuple[str, ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    check: str | None = None  # "module:function" (network, settings, image size) -> None, before any work
    wraps: str | None = None  # the setting that names a method this one runs (SmoothGrad's base)

    def __post_init__(self):
        if ":" not in self.compute:
            raise ValueError(f"{self.name}: compute must be 'module:function', got {self.compute!r}")
        if self.channels not in CHANNEL_REDUCTIONS:
            raise ValueError(f"{self.name}: channels must be one of {CHANNEL_REDUCTIONS}")

    def function(self) -> Callable:
        """The method's function, ``options`` bound."""
        function = _imported(self.compute)
        options = dict(self.options)
        return (lambda request: function(request, **options)) if options else function

    def checker(self) -> Callable:
        """The method's check (``check`` imported), ``options`` bound."""
        check = _imported(self.check)
        options = dict(self.options)
        return (lambda *args: check(*args, **options)) if options else check


def _imported(where: str) -> Callable:
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the table (replacing a method of the same name)."""
    METHODS[method.name] = method
    return method


def names() -> tuple[str, ...]:
    return tuple(METHODS)


def smoothable() -> tuple[str, ...]:
    """The methods SmoothGrad can average (``--smoothgrad-base``)."""
    return tuple(name for name, method in METHODS.items() if method.smoothable)


def method(name: str) -> Method:
    """The row of ``name``; ValueError naming the methods for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"unknown method '{name}': choose one of {', '.join(METHODS)}")
    return METHODS[name]


def rules_used(name: str, settings) -> set[str]:
    """The backward rules method ``name`` crosses the network with under ``settings`` (a
    wrapper's and the method it runs)."""
    row = method(name)
    rules = {row.rule} - {None}
    return rules | rules_used(getattr(settings, row.wraps), settings) if row.wraps else rules


def described() -> str:
    """Every method with its paper, for ``--help`` and docstrings."""
    return ", ".join(f"{name} ({method.title})" for name, method in METHODS.items())


_HERE = "nnvisual.attribution"
for _row in (
    Method("saliency", f"{_HERE}.gradient_methods:saliency", "Simonyan et al. 2014",
           smoothable=True, channels="max-abs"),
    Method("gradient-x-input", f"{_HERE}.gradient_methods:gradient_x_input",
           "Shrikumar et al. 2016", smoothable=True),
    Method("guided", f"{_HERE}.gradient_methods:guided", "guided backpropagation, Springenberg "
           "et al. 2015", rule="guided", smoothable=True),
    Method("deconvnet", f"{_HERE}.gradient_methods:deconvnet", "Zeiler & Fergus 2014",
           rule="deconvnet", smoothable=True),
    Method("integrated-gradients", f"{_HERE}.integrated_gradients:integrated_gradients",
           "Sundararajan et al. 2017", settings=("baseline", "steps", "batch_size")),
    Method("smoothgrad", f"{_HERE}.smoothgrad:smoothgrad", "Smilkov et al. 2017", rule=None,
           settings=("smoothgrad_base", "samples", "noise", "batch_size"), wraps="smoothgrad_base"),
    Method("gradcam", f"{_HERE}.cam:gradcam", "Selvaraju et al. 2017", reads_layer=True,
           settings=("layer",)),
    Method("gradcam++", f"{_HERE}.cam:gradcam_plus_plus", "Chattopadhay et al. 2018",
           reads_layer=True, settings=("layer",)),
    Method("scorecam", f"{_HERE}.cam:scorecam", "Wang et al. 2020", rule=None, reads_layer=True,
           settings=("layer", "batch_size")),
    Method("guided-gradcam", f"{_HERE}.cam:guided_gradcam", "guided backpropagation times "
           "Grad-CAM", rule="guided", reads_layer=True, settings=("layer",)),
    Method("occlusion", f"{_HERE}.occlusion:occlusion", "Zeiler & Fergus 2014", rule=None,
           settings=("baseline", "window", "stride", "batch_size"),
           check=f"{_HERE}.occlusion:check_window"),
    Method("attention-rollout", f"{_HERE}.attention:attention_rollout", "attention rollout, "
           "Abnar & Zuidema 2020 (transformers)", rule=None, reads_attention=True,
           settings=("head_fusion", "discard_ratio"), check=f"{_HERE}.attention:check"),
    Method("transformer-attribution", f"{_HERE}.attention:transformer_attribution",
           "gradient-weighted attention relevance, Chefer, Gur & Wolf 2021 (transformers)",
           reads_attention=True, check=f"{_HERE}.attention:check"),
):
    register(_row)

_LRP_SETTINGS = ("lrp_epsilon", "lrp_gamma", "lrp_alpha", "lrp_beta", "lrp_stabilizer", "lrp_rules")
for _name, _composite, _title in (
    ("lrp-epsilon-plus", "epsilon-plus", "LRP, z-plus on convolutions, epsilon on dense layers"),
    ("lrp-epsilon-plus-flat", "epsilon-plus-flat", "LRP, epsilon-plus with flat on the first layer"),
    ("lrp-epsilon-gamma-box", "epsilon-gamma-box", "LRP, gamma on convolutions, epsilon on dense "
     "layers, z-box on the first layer"),
    ("lrp-epsilon-alpha2-beta1", "epsilon-alpha2-beta1", "LRP, alpha2-beta1 on convolutions, "
     "epsilon on dense layers"),
    ("lrp-epsilon-alpha2-beta1-flat", "epsilon-alpha2-beta1-flat", "LRP, epsilon-alpha2-beta1 "
     "with flat on the first layer"),
    ("lrp-sequential-preset-a", "sequential-preset-a", "LRP, iNNvestigate's preset A: "
     "alpha1-beta0 on convolutions, epsilon 0.1 on dense layers"),
    ("lrp-sequential-preset-b", "sequential-preset-b", "LRP, iNNvestigate's preset B: "
     "alpha2-beta1 on convolutions, epsilon 0.1 on dense layers"),
    ("lrp-0", "zero", "LRP-0 everywhere, Bach et al. 2015"),
    ("lrp-epsilon", "epsilon", "LRP-epsilon everywhere, Bach et al. 2015"),
    ("lrp-gamma", "gamma", "LRP-gamma everywhere, Montavon et al. 2019"),
    ("lrp-z-plus", "z-plus", "LRP z-plus everywhere, Montavon et al. 2017"),
    ("lrp-alpha1-beta0", "alpha1-beta0", "LRP-alpha1-beta0 everywhere, Bach et al. 2015"),
    ("lrp-alpha2-beta1", "alpha2-beta1", "LRP-alpha2-beta1 everywhere, Bach et al. 2015"),
):
    register(Method(_name, f"{_HERE}.lrp.propagate:lrp", _title, rule=None, settings=_LRP_SETTINGS,
                    options=(("composite", _composite),),
                    check=f"{_HERE}.lrp.propagate:check"))

for _row in (
    Method("deeplift", f"{_HERE}.deeplift:deeplift", "DeepLIFT Rescale, Shrikumar et al. 2017",
           rule=None, settings=("baseline",), options=(("rule", "rescale"),),
           check=f"{_HERE}.deeplift:check"),
    Method("deeplift-reveal-cancel", f"{_HERE}.deeplift:deeplift", "DeepLIFT RevealCancel, "
           "Shrikumar et al. 2017", rule=None, settings=("baseline",),
           options=(("rule", "reveal-cancel"),), check=f"{_HERE}.deeplift:check"),
    Method("deepshap", f"{_HERE}.deeplift:deepshap", "DeepLIFT averaged over a background set, "
           "Lundberg & Lee 2017", rule=None, settings=("background", "background_size", "batch_size"),
           check=f"{_HERE}.deeplift:check"),
):
    register(_row)
