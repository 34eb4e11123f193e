"""One verb, :func:`attribute`: a batch of images, one method, a (B, H, W) map per image."""

from __future__ import annotations

import dataclasses

import numpy as np

from nnvisual.attribution import cam
from nnvisual.attribution.gradient_methods import RULE_OF, gradient_attribution
from nnvisual.attribution.integrated_gradients import integrated_gradients
from nnvisual.attribution.network import Network
from nnvisual.attribution.occlusion import occlusion
from nnvisual.attribution.smoothgrad import smoothgrad
from nnvisual.choices import ATTRIBUTION_METHODS, CAM_METHODS, SMOOTHGRAD_BASES


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the methods need besides the images (built from a config by ``settings_from``)."""

    layer: str | None  # CAM layer; None: the last 4-D feature map
    steps: int  # integrated gradients' quadrature points
    samples: int  # smoothgrad's noisy copies
    noise: float  # smoothgrad's noise, as a fraction of each image's range
    smoothgrad_base: str
    window: int | None  # occlusion patch side; None: 1/8 of the smaller image side
    stride: int | None  # occlusion stride; None: half the window
    batch_size: int  # rows per model call, inner samples included
    seed: int

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if self.smoothgrad_base not in SMOOTHGRAD_BASES:
            raise ValueError(f"smoothgrad_base must be one of {', '.join(SMOOTHGRAD_BASES)}")
        for name in ("window", "stride"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def occlusion_window(self, size) -> tuple[int, int]:
        window = self.window or max(1, min(size) // 8)
        if window > min(size):
            raise ValueError(f"window {window} is larger than the image ({size[0]}x{size[1]})")
        return window, self.stride or max(1, window // 2)


def reduce_channels(method: str, attributions: np.ndarray) -> np.ndarray:
    """(B, H, W, C) -> (B, H, W): saliency takes max |.| over channels (Simonyan et al. 2014);
    every other method sums its signed channels (so integrated gradients stay complete)."""
    if method == "saliency":
        return np.abs(attributions).max(axis=-1)
    return attributions.sum(axis=-1)


def attribute(model, images: np.ndarray, method: str, classes=None, baselines=None,
              settings: Settings | None = None) -> np.ndarray:
    """(B, H, W) float32 maps of ``method`` for the class ``classes[i]`` of each image
    (None: each image's top-1 class). ``images`` and ``baselines`` are model inputs
    (preprocessed); ``baselines`` default to zeros. ``model`` is a Keras model or a
    :class:`Network`."""
    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"unknown method {method!r}")
    network = model if isinstance(model, Network) else Network(model)
    settings = settings or default_settings()
    x = np.asarray(images, np.float32)
    classes = network.logits(x).argmax(axis=1) if classes is None else np.asarray(classes)
    baselines = np.zeros_like(x) if baselines is None else np.asarray(baselines, np.float32)
    return reduce_channels(method if method != "smoothgrad" else settings.smoothgrad_base,
                           _raw(network, x, method, classes, baselines, settings)).astype(np.float32)


def _raw(network: Network, x, method, classes, baselines, settings: Settings) -> np.ndarray:
    if method in RULE_OF:
        return gradient_attribution(network, x, classes, method)
    if method == "integrated-gradients":
        return integrated_gradients(network, x, baselines, classes, settings.steps,
                                    settings.batch_size)
    if method == "smoothgrad":
        def base(images, image_classes):
            return gradient_attribution(network, images, image_classes, settings.smoothgrad_base)

        return smoothgrad(base, x, classes, settings.samples, settings.noise, settings.seed,
                          settings.batch_size)
    if method == "occlusion":
        window, stride = settings.occlusion_window(x.shape[1:3])
        return occlusion(network, x, baselines, classes, window, stride,
                         settings.batch_size)[..., None]
    assert method in CAM_METHODS
    layer = network.check_feature_layer(settings.layer)
    if method == "gradcam":
        maps = cam.gradcam(network, x, classes, layer)
    elif method == "gradcam++":
        maps = cam.gradcam_plus_plus(network, x, classes, layer)
    elif method == "scorecam":
        maps = cam.scorecam(network, x, classes, layer, settings.batch_size)
    else:
        return cam.guided_gradcam(network, x, classes, layer)
    return maps[..., None]


def default_settings(**overrides) -> Settings:
    """The command's defaults (:class:`nnvisual.config.AttributeConfig`) as settings."""
    from nnvisual.config import AttributeConfig, settings_from

    return dataclasses.replace(settings_from(AttributeConfig(), Settings), **overrides)
