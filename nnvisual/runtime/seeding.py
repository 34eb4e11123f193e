"""Seeding every generator a run draws from, without loading TensorFlow where it is not used.

``keras.utils.set_random_seed`` seeds Python, NumPy, the Keras backend (and PyTorch's generator on
its backend), and also TensorFlow's whenever TensorFlow is installed: it imports it, which costs a
command on the JAX or PyTorch backend seconds of start-up for a generator nothing there draws from
(the input pipeline of those backends is :mod:`nnvisual.training.numpy_pipeline`).
"""

import sys

import keras


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)``; on a backend other than TensorFlow, with TensorFlow
    not imported yet, Keras is told it is absent (``import tensorflow`` fails during the call), so
    Keras also leaves it alone afterwards (its optional uses: seeding it, recognising its objects)."""
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    sys.modules["tensorflow"] = None  # a None entry makes the import fail (the import system's rule)
    try:
        keras.utils.set_random_seed(seed)
    finally:
        del sys.modules["tensorflow"]
