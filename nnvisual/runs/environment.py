"""What a run's manifest records about where it ran: library versions, the compute device and
the Keras backend."""

from __future__ import annotations

import contextlib
import os
import platform


def versions() -> dict:
    """Versions of Python and the libraries that shape the numbers."""
    import importlib.metadata as md

    found = {"python": platform.python_version(), "nnvisual": md.version("nnvisual")}
    for name in ("tensorflow", "keras", "jax", "torch", "numpy", "opencv-python-headless",
                 "scikit-learn", "scipy", "matplotlib"):
        with contextlib.suppress(md.PackageNotFoundError):
            found[name] = md.version(name)
    return found


def device_description() -> str:
    """The compute device the Keras backend will use ("GPU: ..." or "CPU")."""
    import keras

    backend, gpus = keras.backend.backend(), []
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = [gpu.name for gpu in tf.config.list_logical_devices("GPU")]
    elif backend == "jax":
        import jax

        gpus = [str(device) for device in jax.devices() if device.platform == "gpu"]
    elif backend == "torch":
        import torch

        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if gpus:
        return "GPU: " + ", ".join(gpus)
    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"


def backend() -> str:
    import keras

    return keras.backend.backend()
