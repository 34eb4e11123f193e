"""The one place that knows how the Keras backend computes gradients.

Methods (DeconvNet projections, activation maximization) call :func:`value_and_gradient` and
:func:`compile_function`; everything else uses ``keras.ops``. Adding a backend means adding a
branch here, not touching the methods.
"""

from collections.abc import Callable

import keras


def value_and_gradient(fn: Callable, x):
    """Return ``(fn(x), d fn / d x)`` for a scalar-valued ``fn`` of one tensor ``x``."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return value, tape.gradient(value, x)
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn)(x)
    if backend == "torch":
        import torch

        x = torch.as_tensor(x).detach().requires_grad_(True)
        value = fn(x)
        (gradient,) = torch.autograd.grad(value, x)
        return value.detach(), gradient
    raise NotImplementedError(f"nnvisual has no gradient implementation for the {backend} backend")


def compile_function(fn: Callable, jit: bool = False) -> Callable:
    """Compile ``fn`` for the backend (``tf.function``; ``jax.jit``; eager for torch)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn
