"""Attribution maps: which pixels a class score depends on (``nnvisual attribute``).

Gradient methods (saliency, gradient x input, guided backpropagation, DeconvNet), integrated
gradients, SmoothGrad, the CAM family (Grad-CAM, Grad-CAM++, Score-CAM, guided Grad-CAM) and
occlusion, each batched, on any Keras backend, through one verb :func:`attribute`.
"""

from nnvisual.attribution.api import Settings, attribute, default_settings, reduce_channels
from nnvisual.attribution.baselines import baseline_images
from nnvisual.attribution.network import Network, upsample

__all__ = ["Network", "Settings", "attribute", "baseline_images", "default_settings",
           "reduce_channels", "upsample"]
