"""nnvisual.graph.gradients on the session's Keras backend, against gradients worked out by hand.

``make test-jax`` runs the same tests on JAX (KERAS_BACKEND=jax); they pass on torch as well.
Constants enter the functions as backend tensors (a NumPy array times a torch tensor that
requires grad is an error in torch).
"""

import keras
import numpy as np
import pytest
from keras import ops

from nnvisual.graph import gradients

X = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]], np.float32)


def numpy(tensor):
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def test_gradient_of_a_sum_of_squares_is_twice_x():
    value, gradient = gradients.value_and_gradient(lambda x: ops.sum(x ** 2), X)
    assert float(numpy(value)) == pytest.approx(1 + 4 + 0.25 + 9 + 0 + 2.25)
    np.testing.assert_allclose(numpy(gradient), [[2, -4, 1], [6, 0, -3]], rtol=1e-6)


def test_gradient_of_a_weighted_product():
    # f(x) = sum(w * x0 * x1) over columns of a (2, 3) x: df/dx0 = w * x1, df/dx1 = w * x0
    w = ops.convert_to_tensor(np.array([1.0, 10.0, 100.0], np.float32))
    value, gradient = gradients.value_and_gradient(lambda x: ops.sum(w * x[0] * x[1]), X)
    assert float(numpy(value)) == pytest.approx(1 * 3 + 10 * 0 + 100 * -0.75)
    np.testing.assert_allclose(numpy(gradient), [[3, 0, -150], [1, -20, 50]], rtol=1e-6)


def test_gradient_through_relu_and_exp():
    # d/dx sum(relu(x)) = 1 where x > 0 else 0; d/dx sum(exp(x)) = exp(x)
    _, relu_gradient = gradients.value_and_gradient(lambda x: ops.sum(ops.relu(x)), X)
    np.testing.assert_array_equal(numpy(relu_gradient), [[1, 0, 1], [1, 0, 0]])
    _, exp_gradient = gradients.value_and_gradient(lambda x: ops.sum(ops.exp(x)), X)
    np.testing.assert_allclose(numpy(exp_gradient), np.exp(X.astype(np.float64)), rtol=1e-5)


def test_gradient_through_a_dense_layer():
    # y = x W + b; f = sum(c * y): df/dx = c W^T (bias and x do not enter)
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    weights = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], np.float32)
    layer.set_weights([weights, np.array([10.0, 20.0], np.float32)])
    c = ops.convert_to_tensor(np.array([[1.0, 0.0], [2.0, -1.0]], np.float32))

    value, gradient = gradients.value_and_gradient(lambda x: ops.sum(layer(x) * c), X)
    # rows of x W + b: [1 + 0 + 1.5 + 10, 2 + 2 + 0.25 + 20] = [12.5, 24.25];
    #                  [3 + 0 - 4.5 + 10, 6 + 0 - 0.75 + 20] = [8.5, 25.25]
    assert float(numpy(value)) == pytest.approx(12.5 * 1 + 8.5 * 2 - 25.25)
    np.testing.assert_allclose(numpy(gradient), [[1, 0, 3], [0, 1, 5.5]], rtol=1e-6)


def test_has_aux_returns_the_aux_and_differentiates_only_the_value():
    def fn(x):
        squares = x ** 2
        return ops.sum(squares), ops.max(squares)  # aux: not differentiated

    (value, aux), gradient = gradients.value_and_gradient(fn, X, has_aux=True)
    assert float(numpy(value)) == pytest.approx(16.5)
    assert float(numpy(aux)) == pytest.approx(9.0)
    np.testing.assert_allclose(numpy(gradient), 2 * X, rtol=1e-6)


def test_vector_jacobian_products_of_an_elementwise_function():
    # fn(x) = x ** 2 * a (elementwise): <fn(x), c> has gradient 2 x a c, one per cotangent
    a = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0], np.float32))
    cotangents = np.stack([np.ones_like(X), np.zeros_like(X), np.eye(2, 3, dtype=np.float32)])
    products = numpy(gradients.vector_jacobian_products(lambda x: x ** 2 * a, X, cotangents))
    assert products.shape == (3, 2, 3)
    np.testing.assert_allclose(products[0], [[2, -8, 3], [6, 0, -9]], rtol=1e-6)
    np.testing.assert_array_equal(products[1], np.zeros((2, 3)))
    np.testing.assert_allclose(products[2], [[2, 0, 0], [0, 0, 0]], rtol=1e-6)


def test_vector_jacobian_products_of_a_matrix_product():
    # fn(x) = x M with x (2, 3), M (3, 2): the pullback of c is c M^T
    m = ops.convert_to_tensor(np.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]], np.float32))
    cotangents = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]], np.float32)
    products = numpy(gradients.vector_jacobian_products(lambda x: ops.matmul(x, m), X, cotangents))
    np.testing.assert_allclose(products, [[[1, 2, 0], [0, 0, 0]],
                                          [[0, 1, -1], [1, 3, -1]]], rtol=1e-6)


@pytest.mark.parametrize("jit", [False, True])
def test_compile_function_computes_the_same_values(jit):
    def affine(x, y):
        return ops.matmul(x, y) + 1.0

    compiled = gradients.compile_function(affine, jit=jit)
    y = np.array([[1.0], [2.0], [-1.0]], np.float32)
    np.testing.assert_allclose(numpy(compiled(X, y)), [[1 - 4 - 0.5 + 1], [3 + 0 + 1.5 + 1]], rtol=1e-6)
    # called again with other values (and no retracing surprises): the new result, not the old one
    np.testing.assert_allclose(numpy(compiled(2 * X, y)), [[2 * -3.5 + 1], [2 * 4.5 + 1]], rtol=1e-6)


def test_a_compiled_value_and_gradient():
    step = gradients.compile_function(
        lambda x, scale: gradients.value_and_gradient(lambda z: ops.sum(scale * z ** 3), x))
    value, gradient = step(X, np.float32(2.0))
    assert float(numpy(value)) == pytest.approx(2 * (1 - 8 + 0.125 + 27 + 0 - 3.375))
    np.testing.assert_allclose(numpy(gradient), 6 * X ** 2, rtol=1e-6)  # d/dx 2 x^3 = 6 x^2


def test_an_unknown_backend_is_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(NotImplementedError, match="no gradient implementation for the numpy backend"):
        gradients.value_and_gradient(lambda x: ops.sum(x), X)
    with pytest.raises(NotImplementedError, match="numpy backend"):
        gradients.compile_function(lambda x: x)
