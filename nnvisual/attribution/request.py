"""What an attribution method is given: the network, a batch of model inputs, the class to
explain for each, their reference images, and the settings (which check themselves)."""

from __future__ import annotations

import dataclasses

import numpy as np

from nnvisual import choices
from nnvisual.attribution import methods


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the methods need besides the images (the ``attribute`` command's config holds the
    defaults and their meanings: :class:`nnvisual.config.attribute.AttributeConfig`)."""

    layer: str | None  # the feature map the CAMs read; None: the last 4-D one
    steps: int  # integrated gradients' quadrature points
    samples: int  # smoothgrad's noisy copies
    noise: float  # smoothgrad's noise, as a fraction of each image's range
    smoothgrad_base: str
    window: int | None  # occlusion patch side; None: 1/8 of the smaller image side
    stride: int | None  # occlusion stride; None: half the window
    batch_size: int  # rows per model call, inner samples included
    seed: int
    lrp_epsilon: float  # LRP's epsilon rule
    lrp_gamma: float  # LRP's gamma rule
    lrp_alpha: float  # LRP's alpha-beta rule (alpha - beta = 1)
    lrp_beta: float
    lrp_stabilizer: float  # the denominators' stabilizer of LRP's other rules
    lrp_rules: str | None  # "TYPE=RULE,LAYER=RULE,...", over the composite's
    background_size: int  # DeepSHAP's noise references when no background images are given
    head_fusion: str = "mean"  # attention rollout: the heads' mean, max or min
    discard_ratio: float = 0.0  # attention rollout: the fraction of smallest entries set to 0

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if self.smoothgrad_base not in methods.smoothable():
            raise ValueError(f"smoothgrad_base must be one of {', '.join(methods.smoothable())}")
        for name in ("window", "stride"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if min(self.lrp_epsilon, self.lrp_gamma, self.lrp_alpha, self.lrp_beta) < 0:
            raise ValueError("lrp_epsilon, lrp_gamma, lrp_alpha and lrp_beta must be >= 0")
        if abs(self.lrp_alpha - self.lrp_beta - 1) > 1e-9:
            raise ValueError(f"lrp_alpha - lrp_beta must be 1 (relevance is conserved), got "
                             f"{self.lrp_alpha} and {self.lrp_beta}")
        if self.background_size < 1:
            raise ValueError(f"background_size must be at least 1, got {self.background_size}")
        if self.head_fusion not in choices.HEAD_FUSIONS:
            raise ValueError(f"head_fusion must be one of {', '.join(choices.HEAD_FUSIONS)}")
        if not 0 <= self.discard_ratio < 1:
            raise ValueError(f"discard_ratio must be in [0, 1), got {self.discard_ratio}")
        if self.lrp_stabilizer <= 0:
            raise ValueError(f"lrp_stabilizer must be positive, got {self.lrp_stabilizer}")
        from nnvisual.attribution.lrp.composites import parse_rules

        parse_rules(self.lrp_rules)

    def occlusion_window(self, size) -> tuple[int, int]:
        """``(window, stride)`` for images of ``size``; ValueError for a window larger than them."""
        window = self.window or max(1, min(size) // 8)
        if window > min(size):
            raise ValueError(f"window {window} is larger than the image ({size[0]}x{size[1]})")
        return window, self.stride or max(1, window // 2)


def default_settings(**overrides) -> Settings:
    """The ``attribute`` command's defaults as settings, with ``overrides``."""
    from nnvisual.config import AttributeConfig

    return dataclasses.replace(AttributeConfig().attribution_settings(), **overrides)


@dataclasses.dataclass(frozen=True)
class Request:
    """One batch for one method: ``x`` (B, H, W, C) model inputs, ``classes`` (B,) the class to
    explain for each, ``baselines`` like ``x`` (reference inputs: zeros unless given),
    ``network`` (:class:`~nnvisual.attribution.network.Network`), ``settings`` and
    ``background`` (N, H, W, C) model inputs, DeepSHAP's references (None: noise)."""

    network: object
    x: np.ndarray
    classes: np.ndarray
    baselines: np.ndarray
    settings: Settings
    background: np.ndarray | None = None

    def on(self, x: np.ndarray, classes: np.ndarray) -> Request:
        """The same request for other inputs (SmoothGrad's noisy copies)."""
        return dataclasses.replace(self, x=x, classes=classes, baselines=np.zeros_like(x))
