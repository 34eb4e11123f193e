"""nnvisual: see what a convolutional network has learned.

A reproduction, and extension, of Reda & Xu (2019), "Visualizing and Interpreting Neural
Networks": training two small CIFAR-10 networks, DeconvNet projections (Zeiler & Fergus 2014),
class reconstruction by activation maximization (Chollet 2016) and descriptor-based scoring
(SIFT, Harris, bag of visual words; Sivic & Zisserman 2009).

Use it from the command line (``nnvisual --help``) or from Python::

    import nnvisual as nv
    lite = nv.load_model("efficientnet-lite0")
    nv.project(lite, "photo.jpg").plot()

The public API is the names in ``__all__`` (docs/python-api.md): :func:`load_model`,
:func:`project`, :func:`maximize`, :func:`attribute`, :func:`sanity_check`, :func:`evaluate`,
:func:`score_bow`, :func:`train`, :func:`atlas` and their result types, and ``nv.callbacks`` (Keras callbacks
that explain while a model trains). Every module of the package is private by convention:
it may change without notice. ``import nnvisual`` is cheap: the API, and TensorFlow with it, is
imported on first use of one of its names (PEP 562). Importing nnvisual asks TensorFlow for its
oneDNN kernels on x86-64 CPUs (``TF_ENABLE_ONEDNN_OPTS=0`` declines) and keeps its C++ start-up
log lines (CUDA probing, "failed call to cuInit", oneDNN notices) off stderr
(``NNVISUAL_TF_LOGS=1`` shows them); both take effect when nnvisual is imported before TensorFlow
(:mod:`nnvisual.runtime.tensorflow_setup`, which imports nothing heavy). On the JAX backend
JAX's persistent compilation cache is on, under nnvisual's cache folder, so a second run of the
same command on the same model skips most compiling (``NNVISUAL_JAX_CACHE=0`` turns it off;
:mod:`nnvisual.runtime.jax_setup`).
"""

from nnvisual.runtime import jax_setup, tensorflow_setup

tensorflow_setup.enable_onednn()
tensorflow_setup.quiet_unless_asked()
jax_setup.enable_compilation_cache()

__version__ = "0.1.0"
__all__ = ["load_model", "project", "maximize", "attribute", "sanity_check", "evaluate", "score_bow",
           "train", "atlas", "AtlasPages", "Attributions", "BowScores", "Evaluation", "Maximization",
           "Projections", "SanityChecks", "Training"]


def __getattr__(name: str):
    if name in __all__:
        from nnvisual import api

        return getattr(api, name)
    if name == "callbacks":  # nv.callbacks.Attributions: Keras callbacks (docs/callbacks.md)
        import importlib

        return importlib.import_module("nnvisual.callbacks")
    raise AttributeError(f"module 'nnvisual' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__, "callbacks"])
