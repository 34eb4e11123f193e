"""The one place that knows how the Keras backend computes gradients.

Methods (DeconvNet projections, activation maximization) call :func:`value_and_gradient`,
:func:`vector_jacobian_products` and :func:`compile_function`; everything else uses
``keras.ops``, and custom backward rules use ``keras.ops.custom_gradient``. Each function has one
branch per Keras backend: TensorFlow (``tf.GradientTape``), JAX (``jax.value_and_grad``,
``jax.vjp``) and PyTorch (``torch.autograd``). Adding a backend means adding branches here, not
touching the methods.
"""

from collections.abc import Callable

import keras


def _backend() -> str:
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax", "torch"):
        raise NotImplementedError(f"nnvisual has no gradient implementation for the {backend} backend")
    return backend


def value_and_gradient(fn: Callable, x, has_aux: bool = False):
    """Return ``(fn(x), d fn / d x)`` for a scalar-valued ``fn`` of one tensor ``x``.

    With ``has_aux``, ``fn`` returns ``(value, aux)`` and only ``value`` is differentiated; the
    result is ``((value, aux), gradient)`` as with ``jax.value_and_grad``. Values that a caller
    needs from inside ``fn`` must leave it as ``aux`` (JAX forbids leaking traced values).
    """
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            result = fn(x)
        return result, tape.gradient(result[0] if has_aux else result, x)
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=has_aux)(x)
    import torch

    x = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
    result = fn(x)
    (gradient,) = torch.autograd.grad(result[0] if has_aux else result, x)
    return keras.tree.map_structure(lambda t: t.detach(), result), gradient


def vector_jacobian_products(fn: Callable, x, cotangents):
    """``d <fn(x), c> / d x`` for each cotangent ``c`` in ``cotangents`` (k, *fn(x).shape), as a
    (k, *x.shape) tensor, from ONE evaluation of ``fn(x)`` and one batched backward pass (the
    backward pass is vectorized over the cotangents: ``pfor`` in TensorFlow, ``vmap`` in JAX,
    batched gradients in PyTorch)."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            products = tf.reduce_sum(tf.reshape(fn(x)[None] * cotangents, (len(cotangents), -1)), 1)
        return tape.jacobian(products, x, experimental_use_pfor=True)
    if backend == "jax":
        import jax

        _, pullback = jax.vjp(fn, x)
        return jax.vmap(lambda c: pullback(c)[0])(cotangents)
    import torch

    x = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
    (products,) = torch.autograd.grad(fn(x), x, grad_outputs=keras.ops.convert_to_tensor(cotangents),
                                      is_grads_batched=True)
    return products


def compiled_functions_read_variables() -> bool:
    """Whether a function compiled by :func:`compile_function` reads the model's variables each
    time it runs (``tf.function`` captures them by reference; PyTorch runs eagerly), so that it
    follows weights assigned after it was compiled. ``jax.jit`` compiles their values in as
    constants."""
    return _backend() != "jax"


def compile_function(fn: Callable, jit: bool = False) -> Callable:
    """Compile ``fn`` for the backend (``tf.function``; ``jax.jit``; eager for torch, with the
    arguments converted to tensors as the compilers do)."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return lambda *args: fn(*(keras.ops.convert_to_tensor(a) for a in args))
