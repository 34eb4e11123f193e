"""``nnvisual maximize``'s settings (docs/study.md, "Class reconstruction";
docs/feature-visualization.md)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual import choices
from nnvisual.config.fields import (
    Config,
    check,
    check_choice,
    image_size_setting,
    model_setting,
    output_setting,
    parse_image_size,
    seed_setting,
    setting,
    settings_from,
    weights_setting,
)
from nnvisual.errors import named


def _objective_about() -> str:
    from nnvisual.optvis.objective_parser import written_terms

    return ("The --class score before (logit) or after the softmax, or a weighted sum of terms: "
            f'{written_terms()}; e.g. "neuron:conv2:5 - 0.5*class:3"')


@dataclasses.dataclass(frozen=True)
class MaximizeConfig(Config):
    """`nnvisual maximize` (docs/study.md, "Class reconstruction")."""

    SECTION: ClassVar[str] = "maximize"
    model: str = model_setting()
    weights: str = weights_setting()
    image_size: str | None = image_size_setting()
    output: str | None = output_setting()
    target_class: str = setting("284", 'Class to reconstruct: an index (284) or a name ("Siamese '
                                       'cat", cat)', flag="--class", metavar="INDEX|NAME")
    n: int = setting(5, "Number of reconstructions", flag="-n")
    steps: int = setting(20, "Gradient-ascent steps")
    step_size: float = setting(1e-4, "Step size")
    objective: str = setting("logit", _objective_about, metavar="logit|softmax|EXPRESSION")
    init: str = setting("paper", "Initial images: paper (noise in [0,1) + 100), uniform or gray",
                        choices=choices.INITS)
    l2_decay: float = setting(0.0, "L2 decay per step (Yosinski 2015)")
    tv_weight: float = setting(0.0, "Total-variation weight (Mahendran & Vedaldi 2015)")
    jitter: int = setting(0, "Random shift in pixels (Mordvintsev 2015)")
    blur_every: int = setting(0, "Blur every K steps, 0 never (Yosinski 2015)")
    blur_sigma: float = setting(1.0, "Standard deviation of that blur, pixels")
    clip: bool = setting(False, "Clip pixels to 0..255 after each step")
    optimizer: str = setting("study", "Update rule of raw-pixel ascent: study (the gradient over "
                                      "its RMS times --step-size) or adam (Adam at --step-size, "
                                      "as tf-keras-vis)", choices=choices.OPTIMIZERS)
    param: str = setting("pixel", "Optimize raw pixels (the study) or a 1/f-scaled Fourier "
                                  "spectrum (lucid)", choices=choices.PARAMS)
    decorrelate: bool = setting(False, "Optimize in decorrelated colour through a sigmoid (lucid)")
    learning_rate: float = setting(0.05, "Adam learning rate for --param fft or --decorrelate "
                                         "(lucid's)", flag="--lr")
    transforms: str = setting("none", "Random transformations each step: standard (lucid's) or "
                                      "e.g. pad=4,jitter=2,scale=0.9:1.1,rotate=5",
                              metavar="none|standard|LIST")
    diversity: float = setting(0.0, "Weight of the diversity term (lucid): the n images differ")
    diversity_layer: str | None = setting(None, "Layer whose Gram matrices the diversity term "
                                                "compares", metavar="LAYER")
    channel_grid: str | None = setting(None, "One image per channel of LAYER (the first n, or "
                                             "those listed), one batch: "
                                             "figures/channels_<LAYER>.png",
                                       metavar="LAYER[:C1,C2,...]")
    retrain_on: str | None = setting(None, "Fine-tune on these images (labelled --class), then "
                                           "reconstruct again", metavar="DIR|cifar10:CLASS")
    retrain_epochs: int = setting(10, "Fine-tuning epochs")
    retrain_lr: float = setting(1e-3, "Fine-tuning's Adam learning rate")
    retrain_batch_size: int = setting(32, "Fine-tuning's batch size")
    retrain_val_split: float = setting(0.3, "Fraction of the fine-tuning images held out for "
                                            "validation")
    retrain_patience: int = setting(3, "Fine-tuning epochs without a lower validation loss "
                                       "before stopping")
    seed: int = seed_setting()

    def check(self):
        parse_image_size(self.image_size)
        check(self.n >= 1, f"n must be at least 1, got {self.n}")
        check(self.steps >= 1, f"steps must be at least 1, got {self.steps}")
        check(self.step_size > 0, f"step_size must be positive, got {self.step_size}")
        check_choice(self.init, "init", choices.INITS)
        check_choice(self.param, "param", choices.PARAMS)
        check_choice(self.optimizer, "optimizer", choices.OPTIMIZERS)
        check(self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}")
        check(self.diversity >= 0, f"diversity must be >= 0, got {self.diversity}")
        check(not self.diversity or self.diversity_layer,
              f"diversity needs a layer: {named('diversity_layer', 'LAYER')}")
        self.regularizers()
        self.fine_tuning()

    @property
    def parametrized(self) -> bool:
        """lucid's loop (Adam on parameters) for fft or decorrelated images; else raw pixels
        (Algorithm 1, or Adam on the pixels with ``optimizer: adam``)."""
        return self.param == "fft" or self.decorrelate

    def regularizers(self):
        """The image priors (:class:`nnvisual.optvis.regularizers.Regularizers`, which checks
        their values)."""
        from nnvisual.optvis.regularizers import Regularizers

        return settings_from(self, Regularizers)

    def fine_tuning(self):
        """The retraining's settings (:class:`nnvisual.training.retrain.FineTuning`, which checks
        them)."""
        from nnvisual.training.retrain import FineTuning

        return settings_from(self, FineTuning, prefix="retrain_")
