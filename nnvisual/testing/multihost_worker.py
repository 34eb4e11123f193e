"""The tiny data-parallel training that tests/test_multihost.py runs in each of several processes
and, for comparison, in one process alone."""

import keras
import numpy as np

from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.testing.models import tiny_classifier
from nnvisual.training import distribute, multihost

CONFIG = dict(epochs=2, batch_size=8, lr=0.01, augment=False, early_stopping_monitor="none")


def train_tiny() -> dict:
    """Train the tiny network data-parallel with the processes the environment names (one
    process when it names none); its devices, history and weights."""
    config = multihost.resolve(TrainConfig(**CONFIG, distribute="data-parallel"))
    multihost.join(config)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 40)
    # 32 training images: 4 global batches of 8 per epoch, reshuffled each epoch; 8 to validate
    split = training.Split(images[:32], labels[:32], images[32:], labels[32:])
    with distribute.scope(config.distribute, config.batch_size, len(split.x_fit)) as devices:
        keras.utils.set_random_seed(0)
        model = tiny_classifier()
        training.compile_model(model, config.lr)
        history = training.fit(model, split, config, verbose=0)
        weights = [np.asarray(w).tolist() for w in model.get_weights()]
    return {"devices": [str(d) for d in devices], "history": history, "weights": weights}
