"""Gradient-based attributions, per input channel (B, H, W, C): saliency (Simonyan et al. 2014),
gradient x input (Shrikumar et al. 2016), guided backpropagation (Springenberg et al. 2015) and
the DeconvNet (Zeiler & Fergus 2014), the last two through the ReLU rules of
:mod:`nnvisual.deconv` (one mechanism, docs/study.md "DeconvNet")."""

import numpy as np

from nnvisual.attribution.request import Request


def saliency(request: Request) -> np.ndarray:
    """d logit[c_i] / d x_i (channels reduced to max |.| by the table's row)."""
    return request.network.gradient(request.x, request.classes)


def gradient_x_input(request: Request) -> np.ndarray:
    return saliency(request) * request.x


def guided(request: Request) -> np.ndarray:
    return request.network.rule_gradient(request.x, request.classes, "guided")


def deconvnet(request: Request) -> np.ndarray:
    return request.network.rule_gradient(request.x, request.classes, "deconvnet")
