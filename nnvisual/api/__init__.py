"""The Python API: what the command line does, in a notebook cell, on Python objects.

Each function takes a model (a name, a path, a ``train`` run folder, a live ``keras.Model`` or
:func:`load_model`'s result; never modified), images (paths or NumPy arrays) and its command's
settings as keyword arguments (:mod:`nnvisual.config`, the one source of their defaults and
checks), and returns a result holding NumPy arrays and tables (``(header, rows)``), with
``.plot()`` (a matplotlib Figure) and ``.save(path)`` (the run folder the command writes).
The command line is a thin layer over these functions. See docs/python-api.md.

This module's ``__all__`` is the promise; every other module of nnvisual is private. Each name
is imported on first use (PEP 562), so a command loads only its own function's modules.

The examples in the functions' docstrings run as doctests (tests/test_api_examples.py), with
two names they do not build: ``model``, a classifier of RGB images (there a small untrained
CNN on 32x32 images with 3 classes and layers ``conv1``, ``conv2``; in practice
``nv.load_model("efficientnet-lite0")``, a ``train`` run folder or your ``keras.Model``), and
``folder``, an image folder ``DIR/{train,test}/<class>/`` (there 3 classes: cat, dog, frog).
"""

import importlib

_MODULES = {
    "load_model": "_common",
    "project": "_project", "Projections": "_project",
    "maximize": "_maximize", "Maximization": "_maximize",
    "attribute": "_attribute", "Attributions": "_attribute",
    "sanity_check": "_sanity", "SanityChecks": "_sanity",
    "evaluate": "_evaluate", "Evaluation": "_evaluate",
    "score_bow": "_score_bow", "BowScores": "_score_bow",
    "train": "_train", "Training": "_train",
    "atlas": "_atlas", "AtlasPages": "_atlas",
}
__all__ = ["load_model", "project", "maximize", "attribute", "sanity_check", "evaluate", "score_bow",
           "train", "atlas", "AtlasPages", "Attributions", "BowScores", "Evaluation", "Maximization",
           "Projections", "SanityChecks", "Training"]


def __getattr__(name: str):
    if name in _MODULES:
        return getattr(importlib.import_module(f"nnvisual.api.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'nnvisual.api' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
