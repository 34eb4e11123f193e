"""One verb, :func:`attribute`: a batch of images, one method of the table
(:data:`nnvisual.attribution.methods.METHODS`), a (B, H, W) map per image."""

from __future__ import annotations

import numpy as np

from nnvisual.attribution import methods
from nnvisual.attribution.network import Network
from nnvisual.attribution.request import Request, Settings, default_settings


def reduce_channels(method: str, attributions: np.ndarray) -> np.ndarray:
    """(B, H, W, C) -> (B, H, W) as the method's row says: ``max-abs`` takes max |.| over
    channels (saliency, Simonyan et al. 2014); ``sum`` adds the signed channels (so integrated
    gradients stay complete). A (B, H, W) map (occlusion) is already one map."""
    if attributions.ndim == 3:
        return attributions
    if methods.method(method).channels == "max-abs":
        return np.abs(attributions).max(axis=-1)
    return attributions.sum(axis=-1)


def attribute(model, images: np.ndarray, method: str, classes=None, baselines=None,
              settings: Settings | None = None, background=None) -> np.ndarray:
    """(B, H, W) float32 maps of ``method`` for the class ``classes[i]`` of each image
    (None: each image's top-1 class). ``images``, ``baselines`` and ``background`` (DeepSHAP's
    references) are model inputs (preprocessed); ``baselines`` default to zeros. ``model`` is a
    Keras model or a :class:`Network`. A method that reads a feature map reads ``settings.layer``
    (None: the network's last one)."""
    row = methods.method(method)
    network = model if isinstance(model, Network) else Network(model)
    settings = settings or default_settings()
    if row.reads_layer:
        settings = network.with_feature_layer(settings)
    x = np.asarray(images, np.float32)
    classes = network.logits(x).argmax(axis=1) if classes is None else np.asarray(classes)
    baselines = np.zeros_like(x) if baselines is None else np.asarray(baselines, np.float32)
    raw = row.function()(Request(network, x, classes, baselines, settings, background))
    reduced = method if method != "smoothgrad" else settings.smoothgrad_base
    return reduce_channels(reduced, raw).astype(np.float32)
