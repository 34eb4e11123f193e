"""Seeding every generator a run draws from, without loading TensorFlow where it is not used.

``keras.utils.set_random_seed`` seeds Python, NumPy, the Keras backend (and PyTorch's generator on
its backend), and also TensorFlow's whenever TensorFlow is installed: it imports it, which costs a
command on the JAX or PyTorch backend seconds of start-up for a generator nothing there draws from
(the input pipeline of those backends is :mod:`nnvisual.training.numpy_pipeline`).
"""

import contextlib
import random

import keras
import numpy as np

from nnvisual.runtime import tensorflow_setup


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)``; on a backend other than TensorFlow, with TensorFlow
    not imported yet, Keras is told first that it is absent
    (:func:`~nnvisual.runtime.tensorflow_setup.keras_without_tensorflow`)."""
    tensorflow_setup.keras_without_tensorflow()
    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def kept_random_state():
    """The generators :func:`set_random_seed` seeds, as they were before the block: Python's,
    NumPy's global one, Keras' global seed and ``SeedGenerator`` (and PyTorch's on its backend).
    What runs inside (e.g. a callback computing maps during ``model.fit``) may reseed them
    without changing what the code around it draws next. TensorFlow's global seed is not
    restored (it has no public getter); the Keras layers that train draw from their own
    ``SeedGenerator`` states, which no seeding touches."""
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    python, numpy = random.getstate(), np.random.get_state()
    keras_seed = global_state.get_global_attribute(rng_utils.GLOBAL_RANDOM_SEED)
    generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    torch_state = None
    if keras.backend.backend() == "torch":
        import torch

        torch_state = torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, keras_seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, generator)
        if torch_state is not None:
            torch.set_rng_state(torch_state)
