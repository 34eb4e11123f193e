"""Training: the input pipeline, augmentation, fit and early stopping, data-parallel and multi-host
training, fine-tuning a copy."""

from nnvisual.training.trainer import (  # noqa: F401
    HISTORY_KEYS,
    ResumableEarlyStopping,
    Split,
    augmenter,
    channel_means,
    compile_model,
    cpu_flags,
    dtype_policy,
    evaluate,
    fit,
    input_pipeline,
    new_model,
    resolve_precision,
    split_validation,
    tf_data_pipeline,
    training_split,
    validation_indices,
)
