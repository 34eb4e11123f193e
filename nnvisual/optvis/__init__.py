"""Activation maximization (Erhan et al. 2009; Simonyan et al. 2014; Chollet 2016), in the style
of lucid's ``optvis``: one small module per idea.

- :mod:`~nnvisual.optvis.objectives`: the study's objective (a class score before or after the
  softmax), read from the user's model without changing it;
- :mod:`~nnvisual.optvis.terms`, :mod:`~nnvisual.optvis.objective_parser`: objectives that
  compose (class, channel, neuron, layer, direction, diversity; Olah et al. 2017) and their
  command-line language;
- :mod:`~nnvisual.optvis.param`: the initial images (the study's noise, uniform noise, grey) and
  lucid's parametrizations (:mod:`~nnvisual.optvis.fft`, :mod:`~nnvisual.optvis.color`);
- :mod:`~nnvisual.optvis.regularizers`: optional priors (L2 decay, total variation, jitter,
  blur, clipping), each off by default;
- :mod:`~nnvisual.optvis.transforms`: random pad, jitter, scale and rotation each step;
- :mod:`~nnvisual.optvis.render`: the gradient-ascent loops (the study's, and lucid's Adam on
  parameters), all images in one compiled batch.

The names below are imported on first use (PEP 562), so that the objective language can be
read (``--help``) without loading a backend.
"""

import importlib

_HOMES = {"ClassObjective": "objectives", "initial_images": "param", "Regularizers": "regularizers",
          "Rendering": "render", "render_parametrized": "render", "Objective": "terms",
          "Term": "objective_parser"}  # not render(), whose module of the same name would shadow it
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"nnvisual.optvis.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'nnvisual.optvis' has no attribute {name!r}")
