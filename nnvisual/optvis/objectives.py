"""Objectives: the class score that activation maximization drives up.

The study maximized "the mean of the chosen class output", in its final experiment the output
before the softmax (docs/study.md, "Class reconstruction"; Simonyan et al. 2014 argue for the
unnormalized score: the softmax can rise by pushing the other classes down). Both are read
without touching the user's model, from its head (:func:`nnvisual.models.heads.find_head`: the
scores before a softmax or a sigmoid, at any depth of nesting, at the output named), replayed on
the model's inference-only copy (:func:`nnvisual.graph.inference_model.for_inference`: batch
normalizations folded into their convolutions, depthwise convolutions shifted on JAX), made when
the objective is made, from the weights the model has then; nothing is mutated.
"""

from __future__ import annotations

from collections.abc import Callable

from keras import ops

from nnvisual.choices import OBJECTIVES
from nnvisual.errors import UserError
from nnvisual.graph.inference_model import for_inference
from nnvisual.models.heads import find_head


class ClassObjective:
    """The score of class ``class_index``: its logit (``kind="logit"``) or its probability
    (``kind="softmax"``: the model's softmax or sigmoid of it), for images in 0..255 RGB fed
    through ``preprocess``; ``output`` names the output of a model with several.

    Calling it on a batch returns ``(objective, probability, top_class)``, each of shape (n,):
    the score being maximized, the class's probability, and the most probable class.
    """

    def __init__(self, model, class_index: int, kind: str = "logit",
                 preprocess: Callable | None = None, output: str | None = None):
        if kind not in OBJECTIVES:
            raise UserError(f"objective must be one of {', '.join(OBJECTIVES)}, got '{kind}'")
        self.model = for_inference(model)
        self.head = find_head(self.model, output)
        if not 0 <= class_index < self.head.width:
            raise UserError(f"class {class_index} is out of range for a model with "
                            f"{self.head.width} outputs")
        self.class_index = class_index
        self.kind = kind
        self.preprocess = preprocess
        self.name = f"{kind}[{class_index}]"

    def __call__(self, images):
        images = ops.convert_to_tensor(images)  # Keras' preprocess_input edits arrays in place
        inputs = images if self.preprocess is None else self.preprocess(images)
        logits = self.head.read(self.model, inputs)[0]
        probabilities = self.head.probabilities(logits)
        probability = probabilities[:, self.class_index]
        objective = logits[:, self.class_index] if self.kind == "logit" else probability
        return objective, probability, ops.argmax(probabilities, axis=-1)
