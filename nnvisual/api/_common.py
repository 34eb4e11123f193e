"""What the API's functions share: the ``model`` argument, keyword settings checked against
the command's config, image arguments, and results that save as run folders.

The settings of each function are its command's config fields (:mod:`nnvisual.config`, the one
source of defaults and checks): a keyword the config does not have is a ``TypeError``, a bad
value a :class:`~nnvisual.errors.UserError`, both before anything is computed.
"""

from __future__ import annotations

import dataclasses
import logging
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from nnvisual import models
from nnvisual.config import load_config, to_dict
from nnvisual.errors import UserError
from nnvisual.models import LoadedModel

Progress = Callable[[int, int, str], None]  # (done, total, what is being done)
log = logging.getLogger("nnvisual.api")  # skipped files; the command line shows warning: lines


def no_progress(done: int, total: int, label: str) -> None:
    """The default progress callback: say nothing."""


def load_model(model, weights: str | None = None, unsafe: bool = False, *,
               preprocess: Callable | None = None, class_names=None,
               name: str | None = None) -> LoadedModel:
    """Load a network for the other functions.

    Parameters:
        model: ``"vgg16"``, ``"efficientnet-lite0"`` (``-lite1``, ``-lite2`` with the ``lite``
            extra), a ``.keras`` / ``.h5`` file, a complete ``train`` run folder, a live
            ``keras.Model`` (RGB images in, class scores out), or an already loaded model.
        weights: VGG16's weights: ``"imagenet"`` (the default; downloaded once), ``"none"``
            (random) or a file.
        unsafe: allow a ``.keras`` file to run Python code when loaded (Lambda layers); only
            for trusted files.
        preprocess: for a live ``keras.Model``: maps float32 RGB images in 0..255 to its input
            (default: none, the model takes 0..255 images).
        class_names: for a live ``keras.Model`` or a file: one name per output (default
            ``class_0``, ... or the ImageNet names for 1000 outputs).
        name: for a live ``keras.Model``: its name in titles and run folders (default its own).

    Returns:
        A :class:`~nnvisual.models.LoadedModel`: ``model`` (the Keras model), ``name``,
        ``image_size``, ``preprocess`` and ``class_names``. A live model is used as it is, never
        modified (the functions that change weights work on copies).

    Example:
        >>> import nnvisual as nv
        >>> lite = nv.load_model("efficientnet-lite0")
        >>> lite.image_size, lite.class_names[284]
        ((224, 224), 'Siamese_cat')
        >>> mine = nv.load_model(model, class_names=["cat", "dog", "frog"])
        >>> mine.image_size, mine.class_names
        ((32, 32), ('cat', 'dog', 'frog'))
    """
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, (str, Path)):
        return _load_spec(str(model), weights, unsafe, class_names)
    return _live_model(model, preprocess, class_names, name)


def load_configured(config, model=None, unsafe: bool = False) -> LoadedModel:
    """``config``'s model (or ``model``, as :func:`load_model` takes it) with the size its images
    are resized to (``config.image_size`` for a model that takes any size:
    :func:`nnvisual.models.sized`)."""
    from nnvisual.config import parse_image_size

    loaded = load_model(config.model if model is None else model, config.weights, unsafe)
    return models.sized(loaded, parse_image_size(config.image_size))


def model_setting(model) -> str:
    """The config's ``model`` value: the name or path given, else the loaded model's name."""
    return str(model) if isinstance(model, (str, Path)) else load_model(model).name


def _load_spec(spec: str, weights: str | None, unsafe: bool, class_names) -> LoadedModel:
    """A named network, a model file, or a complete ``train`` run folder's ``model.keras`` with
    the class names it recorded."""
    from nnvisual import runs

    path = Path(spec)
    settings = {} if weights is None else {"weights": weights}
    if not models.named_model(spec) and path.is_dir():
        manifest = runs.require_complete_run(path, "train")
        recorded = tuple(class_names or manifest.get("class_names") or ())
        return models.load_model(str(path / "model.keras"), unsafe=unsafe, class_names=recorded,
                                 **settings)
    return models.load_model(spec, unsafe=unsafe, class_names=tuple(class_names or ()), **settings)


def _live_model(model, preprocess, class_names, name) -> LoadedModel:
    import keras

    from nnvisual.models.classes import model_class_names

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a name, a path, a keras.Model or a loaded model, not "
                        f"{type(model).__name__}")
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[-1] == 3):
        raise UserError(f"model {model.name} does not take RGB images: its input shape is "
                        f"{shape}, not (batch, height, width, 3)")
    return LoadedModel(model, name or model.name, tuple(shape[1:3]), preprocess or _unchanged,
                       model_class_names(tuple(class_names or ()), int(model.output_shape[-1])))


def _unchanged(images):
    return images


def settings(cls, function: str, given: dict, **fixed):
    """The config ``cls`` of the keyword arguments ``given`` to ``function`` (TypeError for one
    ``cls`` does not know, or that the function takes as an argument of its own) and the
    values ``fixed`` by the function's arguments."""
    known = {field.name for field in dataclasses.fields(cls)} - set(fixed)
    unknown = sorted(set(given) - known)
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument '{unknown[0]}'; its "
                        f"settings are: {', '.join(sorted(known))}")
    return load_config(cls, None, {**given, **fixed})


def with_defaults(cls, *taken: str):
    """Append to a function's docstring the defaults of its settings, read from ``cls`` (the
    config is their one source), leaving out the fields the function takes as arguments."""
    def decorate(function):
        defaults = ", ".join(f"{field.name}={field.default!r}" for field in dataclasses.fields(cls)
                             if field.name not in taken)
        function.__doc__ += "\n" + textwrap.fill(
            f"Settings and their defaults ({cls.__name__}): {defaults}.", width=96,
            initial_indent="    ", subsequent_indent="        ", break_on_hyphens=False) + "\n"
        return function

    return decorate


def rgb_image(image) -> tuple[np.ndarray, str]:
    """``(uint8 RGB image, where it came from)`` of a path or an (H, W, 3) uint8 array."""
    from nnvisual import data

    if isinstance(image, (str, Path)):
        return data.read_image(image), str(image)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise UserError(f"an image must be a path or a uint8 (height, width, 3) RGB array, got "
                        f"{image.dtype} {image.shape}")
    return image, f"array {image.shape[0]}x{image.shape[1]}"


class Result:
    """A result of the API: arrays and tables, ``plot()`` and ``save(path)``.

    ``save`` writes the run folder the command line writes (``manifest.json``, ``config.yaml``,
    ``figures/``, ``tables/``, arrays), each file atomically (:mod:`nnvisual.runs`).
    """

    command: ClassVar[str]  # the command whose run folder this is
    function: ClassVar[str]  # the API function that made it

    config: object  # the command's config
    run_name: str  # the run folder's default name: results/<command>-<run_name>-<time>/

    def write(self, run) -> None:
        """Write the outputs into the open run folder ``run`` (:class:`nnvisual.runs.Run`)."""
        raise NotImplementedError

    def save(self, path: str | Path | None = None, force: bool = False) -> Path:
        """Write the run folder at ``path`` (default ``results/<command>-<name>-<time>/``) and
        return it; an existing non-empty ``path`` is replaced only with ``force`` and only if it
        is a run of the same command."""
        from nnvisual import runs

        run = runs.create_run(self.command, self.run_name, to_dict(self.config),
                              None if path is None else Path(path), force)
        run.manifest["argv"] = [f"python: nnvisual.{self.function}"]
        with runs.running(run):
            self.write(run)
        return run.path
