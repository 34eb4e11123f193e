"""Explain while training: Keras callbacks for any ``model.fit``, on every Keras backend.

``nv.callbacks.Attributions`` computes the attribution maps of fixed images (any method of
:func:`nnvisual.attribute`, through the same code) every few epochs, with each method's rank
correlation to the previous maps; ``nv.callbacks.FeatureVisualizations`` synthesizes class or
channel visualizations (:func:`nnvisual.maximize`'s machinery); ``nv.callbacks.TrainingScalars``
writes each epoch's loss and accuracy to TensorBoard. Each writes a PNG grid per epoch
into a folder and, when asked, TensorBoard image and scalar summaries (without TensorFlow;
``pip install "nnvisual[tensorboard]"``). See docs/callbacks.md.

Like a command, a callback is a user-facing object that writes files by design; the writing is
in :mod:`nnvisual.callbacks.writer`. Each name is imported on first use (PEP 562).
"""

import importlib

_MODULES = {"Attributions": "attributions", "FeatureVisualizations": "feature_visualizations",
            "TrainingScalars": "scalars"}
__all__ = ["Attributions", "FeatureVisualizations", "TrainingScalars"]


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"nnvisual.callbacks.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'nnvisual.callbacks' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
