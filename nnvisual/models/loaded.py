"""What the methods need of a model besides the Keras model itself: the size its images are
resized to, how they are preprocessed, and the name of each output."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual.errors import UserError, named


@dataclasses.dataclass
class LoadedModel:
    """A model with what is needed to feed it and name its outputs.

    ``preprocess`` maps float32 RGB images in 0..255 of ``image_size`` to the model's input
    (identity for the CIFAR nets, whose mean subtraction is inside the model). ``class_names``
    has one name per class of the output explained, ``output`` (None: the model's only one; see
    :func:`nnvisual.models.classes.model_class_names`).
    """

    model: object
    name: str
    image_size: tuple[int, int]
    preprocess: Callable[[np.ndarray], np.ndarray]
    class_names: tuple[str, ...]
    output: str | None = None


def sized(loaded: LoadedModel, size: tuple[int, int] | None) -> LoadedModel:
    """``loaded`` with the size its images are resized to: its input's, completed by ``size``
    (``image_size``) where the model takes any height or width. UserError when a free
    dimension has no size, or ``size`` contradicts a fixed one."""
    given = loaded.image_size
    if size is not None and any(fixed not in (None, want) for fixed, want in zip(given, size, strict=True)):
        shown = "x".join("?" if side is None else str(side) for side in given)
        raise UserError(f"{loaded.name} takes {shown} images, not the {size[0]}x{size[1]} of "
                        f"{named('image_size')}")
    if None not in given:
        return loaded
    if size is None:
        raise UserError(f"{loaded.name} takes images of any size ({loaded.model.input_shape}): "
                        f"give the size to resize them to with {named('image_size', 'HxW')} "
                        "(e.g. 224)")
    return dataclasses.replace(loaded, image_size=tuple(size))
