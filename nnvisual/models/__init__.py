"""Networks: the study's two CIFAR-10 networks, EfficientNet-Lite and its weight reader, VGG16, any Keras
file; loading them with their input size and class names."""

from nnvisual.models.loading import (  # noqa: F401
    BUILDERS,
    CIFAR_INPUT,
    KERAS_SUFFIXES,
    VGG16_INPUT,
    LoadedModel,
    activation_name,
    build_bonaccorso,
    build_model,
    build_plotka,
    check_scores_outside_nested,
    final_layer,
    load_efficientnet_lite,
    load_model,
    load_vgg16,
    named_model,
    sized,
)
