"""Attribution maps: which pixels a class score depends on (``nnvisual attribute``).

Gradient methods (saliency, gradient x input, guided backpropagation, DeconvNet), integrated
gradients, SmoothGrad, the CAM family (Grad-CAM, Grad-CAM++, Score-CAM, guided Grad-CAM) and
occlusion, each batched, on any Keras backend, through one verb, :func:`attribute`
(:mod:`~nnvisual.attribution.maps`). The methods are the rows of one table,
:data:`~nnvisual.attribution.methods.METHODS`.

The names below are imported on first use (PEP 562), so that the table can be read (``--help``)
without loading a backend.
"""

import importlib

_HOMES = {
    "attribute": "maps", "reduce_channels": "maps",
    "Network": "network", "upsample": "network",
    "Request": "request", "Settings": "request", "default_settings": "request",
    "baseline_images": "baselines",
    "METHODS": "methods", "Method": "methods", "register": "methods",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"nnvisual.attribution.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'nnvisual.attribution' has no attribute {name!r}")
