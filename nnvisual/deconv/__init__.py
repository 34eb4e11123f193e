"""Project feature maps back to pixel space: DeconvNet, guided backpropagation and saliency.

docs/study.md, "DeconvNet". Zeiler & Fergus (2014) go down from one activation:
unpool with the forward max-pooling switches, rectify, filter with the transposed kernels, no
bias. That is the backward pass of the network from that activation with one change: ReLU's
backward rule (``RULES``). Keeping the plain rule gives the gradient (saliency; Simonyan et al.
2014), combining both gives guided backpropagation (Springenberg et al. 2015). So the three
methods are one mechanism: the model's graph replayed from the input to the chosen layer
(:mod:`nnvisual.graph`; any functional or Sequential model, nested models addressed as
``outer/inner``), its rectifiers carrying the method's backward rule (:mod:`.path`). The caller's
model is never changed.

All selected channels of a layer are projected in one compiled call: one forward pass of the
image, then one backward pass vectorized over the channels' seeds (the activation(s) kept, all
others zero; :func:`~nnvisual.graph.gradients.vector_jacobian_products`). Projecting from one
activation (``max`` mode), each seed's image is instead cropped to an aligned window holding that
activation's receptive field (derived from the graph, :mod:`.fields`) and the crops go through as
one batch: nothing outside the window reaches the activation, so the projection is unchanged and
cheaper. Where the field is not shift invariant (strided convolutions, padding layers, global
gates) the whole image is used.
"""

from nnvisual.deconv.fields import ReceptiveField, output_size, receptive_field
from nnvisual.deconv.path import (
                                  METHODS,
                                  MODES,
                                  RULES,
                                  VGG16_DEFAULT_LAYERS,
                                  check_layers,
                                  conv_layer_names,
                                  default_layers,
                                  feature_layers,
                                  projection_path,
                                  relu_with_rule,
)
from nnvisual.deconv.projector import (
                                  LayerProjections,
                                  Projector,
                                  TopImages,
                                  project_layers,
                                  seeds,
                                  top_channels,
                                  top_images,
)

__all__ = ["METHODS", "MODES", "RULES", "VGG16_DEFAULT_LAYERS", "LayerProjections", "Projector",
           "ReceptiveField", "TopImages", "check_layers", "conv_layer_names",
           "default_layers", "feature_layers", "output_size", "project_layers", "projection_path",
           "receptive_field", "relu_with_rule", "seeds", "top_channels", "top_images"]
