"""``nnvisual attribute``'s and ``nnvisual sanity``'s settings (docs/attribution.md,
docs/sanity-checks.md)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual import choices
from nnvisual.config.fields import (
    Config,
    check,
    check_choice,
    check_shard,
    image_size_setting,
    model_setting,
    output_setting,
    parse_image_size,
    seed_setting,
    setting,
    settings_from,
    shard_setting,
    weights_setting,
)


def _methods_about() -> str:
    from nnvisual.attribution import methods

    return f"Methods, comma-separated: {methods.described()}"


def _smoothable() -> tuple[str, ...]:
    from nnvisual.attribution import methods

    return methods.smoothable()


@dataclasses.dataclass(frozen=True)
class AttributeConfig(Config):
    """`nnvisual attribute` (docs/attribution.md; :mod:`nnvisual.attribution`)."""

    SECTION: ClassVar[str] = "attribute"
    model: str = model_setting("efficientnet-lite0")  # offline: its weights ship with nnvisual
    weights: str = weights_setting()
    image_size: str | None = image_size_setting()
    output: str | None = output_setting()
    images: str | None = setting(None, "An image file or a folder of images", metavar="PATH")
    methods: tuple[str, ...] = setting(("saliency", "integrated-gradients", "gradcam"),
                                       _methods_about, flag="--method", metavar="A,B,...")
    target_class: str = setting("auto", "Class to explain: auto (each image's top-1 class), an "
                                        "index or a name", flag="--class",
                                metavar="auto|INDEX|NAME")
    layer: str | None = setting(None, "The feature map the CAM methods read", metavar="LAYER",
                                shown_default="the last 4-D feature map")
    batch_size: int = setting(16, "Images per batch, and model inputs per call for inner samples")
    baseline: str = setting("black", "Integrated gradients' and occlusion's reference image",
                            choices=choices.BASELINES)
    steps: int = setting(50, "Integrated-gradients points (Gauss-Legendre)")
    samples: int = setting(25, "SmoothGrad's noisy copies (Smilkov et al. 2017 use 25-50)")
    noise: float = setting(0.15, "SmoothGrad's noise, a fraction of the image's range (Smilkov et "
                                 "al.: 10-20%)")
    smoothgrad_base: str = setting("saliency", "The gradient method SmoothGrad averages",
                                   choices=_smoothable)
    window: int | None = setting(None, "Occlusion patch side", shown_default="1/8 of the smaller "
                                                                             "image side")
    stride: int | None = setting(None, "Occlusion stride", shown_default="half the window")
    seed: int = seed_setting()
    lrp_epsilon: float = setting(1e-6, "LRP's epsilon rule: the epsilon added to each "
                                       "denominator (zennit's default)")
    lrp_gamma: float = setting(0.25, "LRP's gamma rule: how much the positive weights are "
                                     "favoured (zennit's default)")
    lrp_alpha: float = setting(2.0, "LRP's alpha-beta rule: the weight of the positive "
                                    "contributions (alpha - beta = 1)")
    lrp_beta: float = setting(1.0, "LRP's alpha-beta rule: the weight of the negative "
                                   "contributions")
    lrp_stabilizer: float = setting(1e-6, "The stabilizer of LRP's other rules' denominators")
    lrp_rules: str | None = setting(None, "LRP rules per layer type or layer, over the "
                                          "composite's: TYPE=RULE or LAYER=RULE, comma-separated; "
                                          "types dense, conv, first; rules zero, epsilon, gamma, "
                                          "z-plus, alpha-beta, w-square, flat, z-box",
                                    metavar="KEY=RULE,...")
    background: str | None = setting(None, "DeepSHAP's background set: a folder of images, the "
                                           "first background_size of them (resized like the "
                                           "images)", metavar="DIR",
                                     shown_default="background_size uniform noise images")
    background_size: int = setting(16, "How many references DeepSHAP averages over")
    head_fusion: str = setting("mean", "Attention rollout: how each block's heads are fused "
                                       "(Abnar & Zuidema 2020; vit-explain's mean, max or min)",
                               choices=choices.HEAD_FUSIONS)
    discard_ratio: float = setting(0.0, "Attention rollout: the fraction of each block's fused "
                                        "attention, its smallest entries, set to 0 (vit-explain; "
                                        "0.9 sharpens the map)")
    shard: str | None = shard_setting()

    def check(self):
        from nnvisual.attribution import methods

        parse_image_size(self.image_size)
        check(len(self.methods) >= 1, "give at least one method")
        for method in self.methods:
            check_choice(method, "method", methods.names())
        check_choice(self.baseline, "baseline", choices.BASELINES)
        check_choice(self.head_fusion, "head_fusion", choices.HEAD_FUSIONS)
        self.attribution_settings()
        check_shard(self.shard)

    def attribution_settings(self):
        """What the methods need (:class:`nnvisual.attribution.request.Settings`, which checks
        its values)."""
        from nnvisual.attribution.request import Settings

        return settings_from(self, Settings)


@dataclasses.dataclass(frozen=True)
class SanityConfig(AttributeConfig):
    """`nnvisual sanity` (Adebayo et al. 2018; Petsiuk et al. 2018; docs/sanity-checks.md)."""

    SECTION: ClassVar[str] = "sanity"
    methods: tuple[str, ...] = setting(("saliency", "integrated-gradients", "gradcam", "guided",
                                        "deconvnet"), _methods_about, flag="--method",
                                       metavar="A,B,...")
    randomizations: tuple[str, ...] = setting(("cascading", "independent"),
                                              "Randomizations, comma-separated: cascading (from "
                                              "the top layer down) and independent (one layer at "
                                              "a time)", flag="--randomization", metavar="A,B")
    max_images: int = setting(16, "The first images of --images used")
    curve_steps: int = setting(32, "Deletion/insertion steps: pixels changed in this many equal "
                                   "steps")
    bootstrap: int = setting(2000, "Bootstrap resamples")

    def check(self):
        super().check()
        for mode in self.randomizations:
            check_choice(mode, "randomization", choices.RANDOMIZATIONS)
        check(self.max_images >= 2, f"max_images must be at least 2, got {self.max_images}")
        check(self.curve_steps >= 2, f"curve_steps must be at least 2, got {self.curve_steps}")
        check(self.bootstrap >= 100, "bootstrap must be at least 100")
        check(self.shard is None, "sanity takes no shard: its checks compare the images together")
