"""Class names (ImageNet, CIFAR-10, a model's outputs) and resolving a class by index or name."""

import pytest

from nnvisual.data import CIFAR10_CLASSES
from nnvisual.errors import UserError
from nnvisual.models.classes import imagenet_class_names, model_class_names, resolve_class


def test_imagenet_class_names_are_keras_index_order():
    names = imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[281], names[284], names[999]) == ("tench", "tabby", "Siamese_cat",
                                                              "toilet_tissue")
    duplicates = {name for name in names if names.count(name) > 1}
    assert duplicates == {"crane", "maillot"}  # as in Keras' own index


@pytest.mark.parametrize("spec", ["284", "Siamese cat", "siamese_CAT", " Siamese-cat "])
def test_resolve_imagenet_class_by_index_or_name(spec):
    assert resolve_class(spec, imagenet_class_names()) == (284, "Siamese_cat")


def test_resolve_cifar_class_and_errors():
    names = model_class_names(CIFAR10_CLASSES, 10)
    assert resolve_class("cat", names) == (3, "cat")
    assert resolve_class(9, names) == (9, "truck")
    with pytest.raises(UserError, match=r"out of range.*10 outputs.*nv.train\(..., num_classes=1000\)"):
        resolve_class("284", names)
    with pytest.raises(UserError, match="out of range"):
        resolve_class("-1", names)
    with pytest.raises(UserError, match="ImageNet class 284.*num_classes=1000"):
        resolve_class("Siamese cat", names)
    with pytest.raises(UserError, match="did you mean cat"):
        resolve_class("cats", names)
    with pytest.raises(UserError, match="unknown class name 'xyzzy'; classes: airplane"):
        resolve_class("xyzzy", names)
    with pytest.raises(UserError, match="ambiguous.*134, 517"):
        resolve_class("crane", imagenet_class_names())


def test_model_class_names_give_a_1000_way_head_imagenet_names_past_the_trained_classes():
    wide = model_class_names(CIFAR10_CLASSES, 1000)
    assert wide[3] == "cat" and wide[284] == "Siamese_cat" and len(wide) == 1000
    assert model_class_names(CIFAR10_CLASSES, 12)[10:] == ("class_10", "class_11")
