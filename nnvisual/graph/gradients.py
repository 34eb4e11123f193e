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


def compile_function(fn: Callable, jit: bool = False, variables=()) -> Callable:
    """Compile ``fn`` for the backend (``tf.function``; ``jax.jit``; eager for torch, with the
    arguments converted to tensors as the compilers do).

    ``variables``: Keras variables that ``fn`` reads and that may be assigned new values after it
    is compiled (a model randomized in place). ``tf.function`` captures variables by reference
    and PyTorch runs eagerly, so both follow such changes by themselves; ``jax.jit`` would
    compile their values in as constants, so on JAX they are passed as arguments instead (read
    through ``keras.StatelessScope``, as Keras' own JAX trainer does): one compiled program
    serves every value of the weights."""
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit, reduce_retracing=True)
    if backend == "jax":
        import jax

        if not variables:
            return jax.jit(fn)
        variables = list(variables)

        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return fn(*args)

        compiled = jax.jit(stateless)
        return lambda *args: compiled([variable.value for variable in variables], *args)
    return lambda *args: fn(*(keras.ops.convert_to_tensor(a) for a in args))
