"""Occlusion (Zeiler & Fergus 2014, Figure 7): slide a ``window`` x ``window`` patch with
``stride`` over the image, replace it by the baseline, and credit each pixel with the mean drop
of the class logit over the patches that cover it (captum's ``Occlusion``)."""

import numpy as np

from nnvisual.attribution.batches import in_chunks
from nnvisual.attribution.request import Request


def positions(length: int, window: int, stride: int) -> list[int]:
    return list(range(0, length - window + 1, stride))


def check_window(network, settings, image_size) -> None:
    """ValueError when the occlusion window is larger than the images."""
    settings.occlusion_window(image_size)


def occlusion(request: Request) -> np.ndarray:
    """(B, H, W) maps; the occluded copies of each image are evaluated in chunks of
    ``batch_size``; the window and stride are the settings' (:meth:`Settings.occlusion_window`)."""
    network, x, baselines, classes = request.network, request.x, request.baselines, request.classes
    window, stride = request.settings.occlusion_window(x.shape[1:3])
    batch_size = request.settings.batch_size
    height, width = x.shape[1:3]
    corners = [(top, left) for top in positions(height, window, stride)
               for left in positions(width, window, stride)]
    maps = np.zeros(x.shape[:3])
    counts = np.zeros(x.shape[1:3])
    for top, left in corners:
        counts[top:top + window, left:left + window] += 1
    for i in range(len(x)):
        original = network.logits(x[i:i + 1])[0, classes[i]]

        def occluded_scores(chunk, i=i):
            copies = np.repeat(x[i:i + 1], len(chunk), axis=0)
            for copy, (top, left) in zip(copies, chunk, strict=True):
                copy[top:top + window, left:left + window] = \
                    baselines[i, top:top + window, left:left + window]
            return network.logits(copies)[:, classes[i]]

        drops = original - in_chunks(occluded_scores, np.array(corners), size=batch_size)
        for drop, (top, left) in zip(drops, corners, strict=True):
            maps[i, top:top + window, left:left + window] += drop
    return np.divide(maps, counts, out=np.zeros_like(maps), where=counts > 0)
