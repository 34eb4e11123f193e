"""The examples of the API's docstrings (``help(nv.project)`` and the others) run as doctests,
so that they cannot rot. Every public function must have one; none is skipped.

The examples name two things they do not build: ``model``, a classifier of RGB images (here a
small CNN on 32x32 images with 3 classes, layers ``conv1`` and ``conv2``, untrained: the
examples check shapes and headers, not values) and ``folder``, an image-folder dataset
``DIR/{train,test}/<class>/`` (here 3 classes, cat, dog and frog, of 32x32 images). The
``nnvisual.api`` module docstring says so to the reader.
"""

import doctest

import keras
import pytest

import nnvisual as nv
from nnvisual.testing.images import write_image_folder

FUNCTIONS = [name for name in nv.__all__ if name[0].islower()]


def example_model() -> keras.Model:
    """The ``model`` of the examples: conv-ReLU-pool-conv-ReLU-pool-dense, 3 classes."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255, name="scale"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="pool2"),
        keras.layers.Dense(3, name="scores")], name="small_cnn")


@pytest.fixture(scope="module")
def example_globals(tmp_path_factory):
    return {"model": example_model(),
            "folder": str(write_image_folder(tmp_path_factory.mktemp("examples") / "data"))}


def run_examples(function, globs) -> tuple[int, str]:
    """``(examples run, the failures' report)`` of ``function``'s docstring."""
    tests = doctest.DocTestFinder(recurse=False).find(function, function.__name__,
                                                      globs=dict(globs))
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    return sum(len(test.examples) for test in tests), "".join(report)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_docstring_example_runs(name, example_globals):
    examples, failures = run_examples(getattr(nv, name), example_globals)
    assert examples >= 2, f"nv.{name} has no example in its docstring"
    assert not failures, failures


def test_a_wrong_example_fails(example_globals):
    """The harness can fail: an example whose output differs is reported."""
    def wrong():
        """
        >>> model.output_shape
        (None, 4)
        """

    examples, failures = run_examples(wrong, example_globals)
    assert examples == 1 and "Expected:\n    (None, 4)\nGot:\n    (None, 3)" in failures
