"""Feature visualizations of many channels at once: image ``i`` of a batch maximizes its own
channel (the ``channel`` term's one-channel-per-image form, :mod:`nnvisual.optvis.terms`), so a
block of channels, a few images each, is one batch of lucid's loop (Olah et al. 2017: a
decorrelated Fourier parametrization, Adam, random transformations each step;
:func:`~nnvisual.optvis.render.render_parametrized`): one compiled step for the whole block.

The initial values are lucid's normal noise, with a larger standard deviation by default (0.3
rather than 0.01): a rectified channel that is zero on the near-flat image lucid starts from
gets no gradient and stays grey (on plotka trained briefly, 18 of conv3's 64 channels did; none
at 0.3). Image ``j`` of channel ``c`` draws its initial values and its transformations from the random
streams of index ``c * per_channel + j``: the same image whatever block it is rendered in.

:class:`ClassRenderer` renders a block of classes the same way, image ``i`` maximizing its own
class's logit (the score before the softmax, :mod:`nnvisual.models.heads`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual.optvis.objective_parser import Term
from nnvisual.optvis.param import PARAM_SD, initial_parameters
from nnvisual.optvis.render import render_parametrized
from nnvisual.optvis.terms import Objective
from nnvisual.optvis.transforms import Transforms


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How each visualization is optimized (lucid's defaults but the number of steps)."""

    steps: int
    learning_rate: float
    transforms: Transforms
    seed: int
    per_channel: int
    initial_sd: float = PARAM_SD  # of the initial parameters
    param: str = "fft"
    decorrelate: bool = True


class ChannelRenderer:
    """Renders blocks of channels of one layer of ``model`` (images in 0..255 RGB fed through
    ``preprocess``), the objective's inference-only model built once for all blocks."""

    def __init__(self, model, layer: str, preprocess: Callable | None, size: tuple[int, int],
                 recipe: Recipe):
        self.layer, self.size, self.recipe = layer, size, recipe
        self._objective = Objective(model, [(1.0, self._term((0,)))], preprocess)

    def _term(self, each: tuple[int, ...]) -> Term:
        """The term image ``i`` of a batch maximizes: channel ``each[i]`` of the layer."""
        return Term("channel", self.layer, channels=each)

    def render(self, channels) -> np.ndarray:
        """The visualizations of ``channels``: uint8 (k, per_channel, height, width, 3)."""
        recipe, count = self.recipe, self.recipe.per_channel
        each = [int(channel) for channel in channels for _ in range(count)]
        indices = [channel * count + j for channel in channels for j in range(count)]
        objective = self._objective.with_terms([(1.0, self._term(tuple(each)))])
        parameters = initial_parameters(recipe.param, self.size, recipe.seed, indices) * np.float32(
            recipe.initial_sd / PARAM_SD)
        rendering = render_parametrized(objective, parameters, recipe.param, recipe.decorrelate,
                                        self.size, recipe.steps, recipe.learning_rate,
                                        recipe.transforms, recipe.seed, indices=indices)
        images = np.clip(np.round(rendering.images), 0, 255).astype(np.uint8)
        return images.reshape(len(channels), count, *images.shape[1:])


class ClassRenderer(ChannelRenderer):
    """Renders blocks of classes of ``model``: image ``i`` of a batch maximizes the logit of its
    own class (``render(classes)``), as :class:`ChannelRenderer` renders channels."""

    def __init__(self, model, preprocess: Callable | None, size: tuple[int, int], recipe: Recipe):
        super().__init__(model, None, preprocess, size, recipe)

    def _term(self, each: tuple[int, ...]) -> Term:
        return Term("class", class_index=each if len(each) > 1 else each[0])

    def scores(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(logits, probabilities)`` (n, classes) of uint8 ``images`` (n, H, W, 3)."""
        from keras import ops

        objective = self._objective
        inputs = ops.convert_to_tensor(np.float32(images))
        if objective.preprocess is not None:
            inputs = objective.preprocess(inputs)
        logits, _ = objective.head.read(objective.model, inputs)
        return (ops.convert_to_numpy(logits).astype(np.float32),
                ops.convert_to_numpy(objective.head.probabilities(logits)).astype(np.float32))
