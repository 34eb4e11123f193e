"""Fine-tuning for the retraining experiment (docs/study.md, "Class reconstruction"): the study
retrained its network on images of the target class, all labelled with that class (ImageNet 284,
"Siamese cat"), holding out 30% for validation, with Adam (learning rate 1e-3), batches of 32,
10 epochs, early stopping on the validation loss and no augmentation.

The caller's model is never changed: a clone (``keras.models.clone_model`` + ``set_weights``)
is trained and returned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from nnvisual.models.heads import find_head
from nnvisual.runtime import seeding


@dataclasses.dataclass(frozen=True)
class FineTuning:
    """Settings of :func:`fine_tune`: ``MaximizeConfig``'s ``retrain_*`` fields and its seed
    (the study's values are its defaults)."""

    epochs: int
    lr: float
    batch_size: int
    val_split: float
    patience: int  # epochs without a lower validation loss before stopping
    seed: int

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"fine-tuning epochs must be at least 1, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"the fine-tuning learning rate must be positive, got {self.lr}")
        if self.batch_size < 1:
            raise ValueError(f"the fine-tuning batch size must be at least 1, got {self.batch_size}")
        if not 0 < self.val_split < 1:
            raise ValueError(f"the fine-tuning validation split must be in (0, 1), got {self.val_split}")
        if self.patience < 0:
            raise ValueError(f"the fine-tuning patience must be >= 0, got {self.patience}")


def fine_tune(model, images: np.ndarray, label: int, settings: FineTuning,
              preprocess: Callable | None = None):
    """Train a copy of ``model`` on ``images`` (uint8 RGB, the model's size), all labelled
    ``label`` (with the cross-entropy its head calls for: categorical after a softmax or on
    logits, binary on one-hot labels after a sigmoid); return ``(fine-tuned copy, history)``
    with history ``{metric: [per epoch]}``."""
    import keras

    head = find_head(model)  # UserError for a model with several outputs
    seeding.set_random_seed(settings.seed)
    tuned = keras.models.clone_model(model)
    tuned.set_weights(model.get_weights())
    inputs = images.astype(np.float32)
    inputs = inputs if preprocess is None else np.asarray(preprocess(inputs))
    labels = np.full(len(inputs), label, np.int64)
    if head.activation == "sigmoid":  # a multi-label head: the class on, the others off
        loss, metric = keras.losses.BinaryCrossentropy(), "binary_accuracy"
        labels = np.eye(head.width, dtype=np.float32)[labels]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=head.activation == "linear")
        metric = "accuracy"
    tuned.compile(optimizer=keras.optimizers.Adam(settings.lr), loss=loss, metrics=[metric])
    from nnvisual.training import validation_indices

    train, validation = validation_indices(len(inputs), settings.val_split, settings.seed)
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience)
    history = tuned.fit(inputs[train], labels[train], batch_size=settings.batch_size,
                        epochs=settings.epochs,
                        validation_data=(inputs[validation], labels[validation]),
                        callbacks=[stopping], shuffle=True, verbose=0)
    return tuned, {key: [float(v) for v in values] for key, values in history.history.items()}
