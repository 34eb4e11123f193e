"""Objectives: the class score that activation maximization drives up.

The study maximized "the mean of the chosen class output", in its final experiment the output
before the softmax (docs/study.md, "Class reconstruction"; Simonyan et al. 2014 argue for the
unnormalized score: the softmax can rise by pushing the other classes down). Both are read here
without touching the user's model:

- a model ending in a separate softmax ``Activation`` (the CIFAR nets): the logits are that
  layer's input;
- a model whose last ``Dense`` has a softmax activation (VGG16): a copy of that layer with a
  linear activation, built from its config and weights, is applied to the same input;
- a model whose last layer is linear already outputs the logits.

The scores are read from the model's inference-only copy
(:func:`nnvisual.graph.inference_model.for_inference`: batch normalizations folded into their
convolutions, depthwise convolutions shifted on JAX), made
when the objective is made, from the weights the model has then; nothing is mutated.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import ops

from nnvisual.choices import OBJECTIVES
from nnvisual.errors import UserError
from nnvisual.graph.inference_model import for_inference
from nnvisual.models.heads import activation_name, check_scores_outside_nested, final_layer


def _score_source(model) -> str:
    """Where ``model``'s logits are: "softmax layer" (the input of a final softmax
    ``Activation``), "softmax dense" (a final ``Dense`` with a softmax activation) or "linear"
    (its output); UserError for any other last layer."""
    check_scores_outside_nested(model)
    last = model.layers[-1]
    name = activation_name(final_layer(model))
    if name == "softmax":
        return "softmax layer" if isinstance(last, keras.layers.Activation) else "softmax dense"
    if name == "linear":
        return "linear"
    raise UserError(f"cannot read class scores from {model.name}: its last layer "
                    f"'{last.name}' is neither a softmax nor linear (activation: {name})")


def check_class_scores(model) -> None:
    """UserError unless the class scores of ``model`` can be read (see the module's text)."""
    _score_source(model)


def logits_and_probabilities(model) -> keras.Model:
    """A model with the same input that outputs ``[logits, softmax probabilities]``."""
    last = model.layers[-1]
    source = _score_source(model)
    if source == "softmax layer":
        logits = last.input
        probabilities = model.outputs[0]
    elif source == "softmax dense":
        config = dict(last.get_config(), activation="linear", name=f"{last.name}_logits")
        linear = type(last).from_config(config)
        logits = linear(last.input)
        linear.set_weights(last.get_weights())
        probabilities = model.outputs[0]
    else:
        logits = model.outputs[0]
        probabilities = keras.layers.Activation("softmax", name="objective_softmax")(logits)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, [logits, probabilities], name=f"{model.name}_class_scores")


class ClassObjective:
    """The score of class ``class_index``: its logit (``kind="logit"``) or its softmax
    probability (``kind="softmax"``), for images in 0..255 RGB fed through ``preprocess``.

    Calling it on a batch returns ``(objective, probability, top_class)``, each of shape (n,):
    the score being maximized, the class's softmax probability, and the most probable class.
    """

    def __init__(self, model, class_index: int, kind: str = "logit",
                 preprocess: Callable | None = None):
        if kind not in OBJECTIVES:
            raise UserError(f"objective must be one of {', '.join(OBJECTIVES)}, got '{kind}'")
        outputs = int(model.output_shape[-1])
        if not 0 <= class_index < outputs:
            raise UserError(f"class {class_index} is out of range for a model with {outputs} "
                            "outputs")
        self.scores = logits_and_probabilities(for_inference(model))
        self.class_index = class_index
        self.kind = kind
        self.preprocess = preprocess
        self.name = f"{kind}[{class_index}]"

    def __call__(self, images):
        images = ops.convert_to_tensor(images)  # Keras' preprocess_input edits arrays in place
        inputs = images if self.preprocess is None else self.preprocess(images)
        logits, probabilities = self.scores(inputs, training=False)
        probability = probabilities[:, self.class_index]
        objective = logits[:, self.class_index] if self.kind == "logit" else probability
        return objective, probability, ops.argmax(probabilities, axis=-1)
