"""Fine-tuning a copy of a model on one class's images (the study's retraining experiment)."""

import numpy as np

from nnvisual.testing.models import conv_model
from nnvisual.training.retrain import FineTuning, fine_tune


def test_fine_tune_raises_the_label_probability_on_a_copy():
    model = conv_model()
    weights = [w.copy() for w in model.get_weights()]
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 3)).astype(np.uint8)
    before = model.predict(images.astype(np.float32), verbose=0)[:, 3].mean()
    settings = FineTuning(epochs=3, lr=1e-2, batch_size=8, val_split=0.3, patience=3, seed=0)
    tuned, history = fine_tune(model, images, 3, settings)
    after = tuned.predict(images.astype(np.float32), verbose=0)[:, 3].mean()
    assert after > before
    assert set(history) >= {"loss", "val_loss", "accuracy"} and 1 <= len(history["loss"]) <= 3
    for original, now in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(original, now)
    assert tuned is not model
