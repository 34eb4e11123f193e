"""Class activation maps from a feature map A (B, h, w, K) of a layer, upsampled bilinearly to
the input: Grad-CAM (Selvaraju et al. 2017), Grad-CAM++ (Chattopadhay et al. 2018), Score-CAM
(Wang et al. 2020) and guided Grad-CAM (guided backpropagation x Grad-CAM). Maps are not
normalized (pytorch-grad-cam rescales each to [0, 1]; nnvisual keeps the scale)."""

import numpy as np

from nnvisual.attribution.batches import in_chunks
from nnvisual.attribution.network import upsample
from nnvisual.attribution.request import Request


def _combine(features: np.ndarray, weights: np.ndarray, size) -> np.ndarray:
    """ReLU(sum_k weights_k A_k), upsampled to ``size``."""
    cam = np.maximum(np.einsum("bhwk,bk->bhw", features, weights), 0)
    return upsample(cam, size)


def gradcam(request: Request) -> np.ndarray:
    """Channel weights = the spatial mean of d logit / d A."""
    x = request.x
    features, grads = request.network.features_and_gradient(x, request.classes,
                                                            request.settings.layer)
    return _combine(features, grads.mean(axis=(1, 2)), x.shape[1:3])


def gradcam_plus_plus(request: Request) -> np.ndarray:
    """Channel weights = sum over positions of alpha * ReLU(g), alpha = g^2 / (2 g^2 +
    sum_ab A * g^3) (the closed form for an exponential of the score, as in the paper and
    pytorch-grad-cam), alpha = 0 where g = 0."""
    x = request.x
    features, grads = request.network.features_and_gradient(x, request.classes,
                                                            request.settings.layer)
    grads = grads.astype(np.float64)
    sums = features.sum(axis=(1, 2), keepdims=True)
    denominator = 2 * grads ** 2 + sums * grads ** 3
    alpha = np.where(grads != 0, grads ** 2 / np.where(denominator != 0, denominator, 1), 0)
    return _combine(features, (alpha * np.maximum(grads, 0)).sum(axis=(1, 2)), x.shape[1:3])


def scorecam(request: Request) -> np.ndarray:
    """Channel weights = softmax over channels of the class logit of the input masked by each
    channel's upsampled map, min-max normalized to [0, 1]; masked inputs go in chunks of
    ``batch_size``."""
    network, x, classes = request.network, request.x, request.classes
    features = network.features(x, request.settings.layer)
    masks = upsample(features, x.shape[1:3])
    low, high = masks.min(axis=(1, 2), keepdims=True), masks.max(axis=(1, 2), keepdims=True)
    masks = np.where(high > low, (masks - low) / np.where(high > low, high - low, 1), 0)
    count = features.shape[-1]
    weights = np.zeros((len(x), count))
    for i in range(len(x)):
        def scores(mask_chunk, i=i):
            return network.logits(x[i] * mask_chunk[..., None])[:, classes[i]]

        logits = in_chunks(scores, np.moveaxis(masks[i], -1, 0).astype(np.float32),
                           size=request.settings.batch_size)
        exp = np.exp(logits - logits.max())
        weights[i] = exp / exp.sum()
    return _combine(features, weights, x.shape[1:3])


def guided_gradcam(request: Request) -> np.ndarray:
    """Guided backpropagation (per channel) times the Grad-CAM map."""
    guided = request.network.rule_gradient(request.x, request.classes, "guided")
    return guided * gradcam(request)[..., None]
