"""Gradient-based attributions, per input channel (B, H, W, C): saliency (Simonyan et al. 2014),
gradient x input (Shrikumar et al. 2016), guided backpropagation (Springenberg et al. 2015) and
the DeconvNet (Zeiler & Fergus 2014), the last two through the ReLU rules of
:mod:`nnvisual.deconv` (one mechanism, docs/study.md "DeconvNet")."""

import numpy as np

from nnvisual.attribution.network import Network

RULE_OF = {"saliency": "gradient", "gradient-x-input": "gradient", "guided": "guided",
           "deconvnet": "deconvnet"}


def gradient_attribution(network: Network, x: np.ndarray, classes, method: str) -> np.ndarray:
    """The per-channel attribution of ``method`` (a key of :data:`RULE_OF`) for a batch."""
    grad = network.rule_gradient(x, classes, RULE_OF[method])
    return grad * x if method == "gradient-x-input" else grad
