"""Activation maximization (Erhan et al. 2009; Simonyan et al. 2014; Chollet 2016), in the style
of lucid's ``optvis``: one small module per idea.

- :mod:`~nnvisual.optvis.objectives`: what is maximized (a class score before or after the
  softmax), read from the user's model without changing it;
- :mod:`~nnvisual.optvis.param`: the initial images (the study's noise, uniform noise, grey);
- :mod:`~nnvisual.optvis.regularizers`: optional priors (L2 decay, total variation, jitter,
  blur, clipping), each off by default;
- :mod:`~nnvisual.optvis.render`: the gradient-ascent loop, all images in one compiled batch.
"""

from nnvisual.optvis.objectives import ClassObjective
from nnvisual.optvis.param import initial_images
from nnvisual.optvis.regularizers import Regularizers
from nnvisual.optvis.render import Rendering, render

__all__ = ["ClassObjective", "Regularizers", "Rendering", "initial_images", "render"]
