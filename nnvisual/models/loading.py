"""Loading a model: one path from what a user names (a network's name, a Keras file, a ``train``
run folder or a live ``keras.Model``) to a :class:`~nnvisual.models.loaded.LoadedModel` with its
input size and class names (:func:`load_model`), and the size a model that takes any size is
given (:func:`load_configured`, which every command's preparation calls)."""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from pathlib import Path

from nnvisual.config import parse_image_size
from nnvisual.errors import UserError, named
from nnvisual.models import hub
from nnvisual.models.classes import model_class_names
from nnvisual.models.heads import find_head
from nnvisual.models.loaded import LoadedModel, sized
from nnvisual.models.zoo import NAMED
from nnvisual.runs.reading import require_complete_run, verify_outputs, verify_run_file
from nnvisual.runtime import tensorflow_setup

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
RUN_MODEL = "model.keras"  # a train run's model


def load_model(model, weights: str | None = None, unsafe: bool = False, *,
               preprocess: Callable | None = None, class_names=None,
               name: str | None = None) -> LoadedModel:
    """Load a network for the other functions.

    Parameters:
        model: ``"vgg16"``, ``"efficientnet-lite0"`` (``-lite1``, ``-lite2`` with the ``lite``
            extra), a ``.keras`` / ``.h5`` file, a complete ``train`` run folder, a live
            ``keras.Model`` (RGB images in, class scores out), a Keras Hub ``ViTImageClassifier``
            or ``DeiTImageClassifier`` or its preset folder (``save_to_preset``'s;
            :mod:`nnvisual.models.hub`), or an already loaded model. A
            model file a run folder recorded is checked against the sha256 the run recorded.
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
    tensorflow_setup.keras_without_tensorflow()  # on JAX or PyTorch, TensorFlow stays unloaded
    if isinstance(model, LoadedModel):
        return model
    if not isinstance(model, (str, Path)):
        return _live_model(model, preprocess, class_names, name)
    spec, names = str(model), tuple(class_names or ())
    if spec in NAMED:
        return NAMED[spec].load("imagenet" if weights is None else weights)
    if spec.startswith(hub.PREFIX):
        return hub.load_named(spec.removeprefix(hub.PREFIX), "imagenet" if weights is None else weights)
    path = Path(spec)
    if path.is_dir() and hub.is_preset(path):  # a Keras Hub preset folder
        return hub.load_preset(path)
    if path.is_dir():  # a train run folder: its model, as the run wrote it, with its class names
        manifest = require_complete_run(path, "train")
        verify_outputs(path, manifest, [RUN_MODEL])
        return _load_file(path / RUN_MODEL, unsafe, names or tuple(manifest.get("class_names") or ()))
    if path.is_file():
        verify_run_file(path)  # e.g. RUN/model.keras or a maximize run's model_retrained.keras
    return _load_file(path, unsafe, names)


def load_configured(config, model=None, unsafe: bool = False) -> LoadedModel:
    """``config``'s model (or ``model``, as :func:`load_model` takes it) with the size its images
    are resized to (``config.image_size`` for a model that takes any size:
    :func:`~nnvisual.models.loaded.sized`) and, for a config with an ``output`` (a model with
    several), the class names of that output. Every command's preparation loads its model here."""
    loaded = load_model(config.model if model is None else model, config.weights, unsafe)
    loaded = sized(loaded, parse_image_size(config.image_size))
    return at_output(loaded, config.output) if hasattr(config, "output") else loaded


def at_output(loaded: LoadedModel, output: str | None) -> LoadedModel:
    """``loaded`` explained at its output ``output``: that output's class names (UserError for
    an unknown output, or none named on a model with several)."""
    if output == loaded.output and loaded.class_names:
        return loaded
    width = find_head(loaded.model, output).width
    return dataclasses.replace(loaded, output=output,
                               class_names=model_class_names(loaded.class_names, width))


def _width(model) -> int:
    """The number of classes of ``model``'s only output; 0 for a model with several (named
    when the output to explain is chosen: :func:`at_output`)."""
    shape = model.output_shape
    return int(shape[-1]) if isinstance(shape, tuple) else 0


def _live_model(model, preprocess: Callable | None, class_names, name: str | None) -> LoadedModel:
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a name, a path, a keras.Model or a loaded model, not "
                        f"{type(model).__name__}")
    if hub.is_hub_model(model):  # its blocks laid out as a functional graph
        return dataclasses.replace(hub.loaded(model, name or model.name, class_names or ()),
                                   **({"preprocess": preprocess} if preprocess else {}))
    _check_rgb_input(model, f"model {model.name}")
    return LoadedModel(model, name or model.name, tuple(model.input_shape[1:3]),
                       preprocess or _unchanged,
                       model_class_names(tuple(class_names or ()), _width(model)))


def _load_file(path: Path, unsafe: bool, class_names: tuple[str, ...]) -> LoadedModel:
    """A Keras model file, loaded in ``safe_mode`` (no Python code from Lambda layers) unless
    ``unsafe``, computing in float32; its outputs named ``class_names``
    (:func:`~nnvisual.models.classes.model_class_names`)."""
    import keras

    if not path.exists():
        raise UserError(f"model not found: {path} (give {', '.join(NAMED)}, a train run folder "
                        "or a .keras file)")
    cannot = f"cannot load a Keras model from {path}"
    if path.suffix not in KERAS_SUFFIXES:
        raise UserError(f"{cannot}: not a model file; give a .keras (or .h5) file, a train run folder "
                        "or vgg16")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise UserError(f"{cannot}: not a valid .keras file (a .keras file is a zip archive; this one "
                        "is corrupt, truncated or another format)")
    from nnvisual.graph import given_weights
    from nnvisual.models.vit import token_embedding_class

    token_embedding_class()  # registered, for a saved vit-tiny
    try:
        model = given_weights.built(
            lambda: keras.models.load_model(path, safe_mode=not unsafe, compile=False))
    except Exception as exc:
        if "safe_mode" in str(exc):
            raise UserError(f"{cannot}: it holds Python code (e.g. a Lambda layer), which is not loaded "
                            f"by default; pass {named('unsafe', True)} only if you trust the file"
                            ) from None
        raise UserError(f"{cannot}: {exc}".splitlines()[0]) from None
    model = _in_float32(model)
    _check_rgb_input(model, str(path))
    return LoadedModel(model, path.parent.name if path.name == RUN_MODEL else path.stem,
                       tuple(model.input_shape[1:3]), _unchanged,
                       model_class_names(class_names, _width(model)))


def _check_rgb_input(model, what: str) -> None:
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 4 and shape[-1] == 3):
        raise UserError(f"{what} does not take RGB images: its input shape is {shape}, not "
                        "(batch, height, width, 3)")


def _unchanged(images):
    return images


def _in_float32(model):
    """``model`` itself if all its layers compute in float32, else a float32 copy with the same
    weights (a network ``train`` fitted in mixed precision): analyses always run in float32."""
    from nnvisual.graph import given_weights

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float32"

    def make():
        copy = model.__class__.from_config(config)
        copy.set_weights(model.get_weights())
        return copy

    return given_weights.built(make)
