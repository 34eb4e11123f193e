"""The ViT methods against their references on a tiny random ViT (nnvisual/testing/vit_twin.py):
the Keras ViT's logits against timm's on the same weights, attention rollout against
vit-explain's formulation, Chefer et al.'s relevance against their ``generate_relevance`` on
timm's attention and gradients, and Grad-CAM on tokens against pytorch-grad-cam."""

import numpy as np
import pytest

from nnvisual import attribution
from nnvisual.attribution import attention
from nnvisual.attribution.network import upsample
from nnvisual.attribution.request import default_settings
from nnvisual.testing import vit_twin
from nnvisual.testing.attribution_reference import aligned
from nnvisual.testing.torch_reference import import_timm


@pytest.fixture(scope="module")
def twin():
    """(Keras model, its Network, images, classes): three random 0..255 images."""
    model = vit_twin.keras_vit(seed=0)
    network = attribution.Network(model)
    x = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    return model, network, x, network.logits(x).argmax(axis=1)


@pytest.fixture(scope="module")
def timm_twin(twin):
    import_timm()
    return vit_twin.timm_vit(twin[0])


def test_the_keras_vit_computes_timms_logits(twin, timm_twin):
    _, network, x, _ = twin
    theirs = timm_twin(vit_twin.timm_input(x)).detach().numpy()
    assert np.abs(network.logits(x) - theirs).max() < 1e-5
    assert np.abs(theirs).max() > 0.5  # not a trivially small output


def test_the_attention_maps_and_their_gradients_are_timms(twin, timm_twin):
    _, network, x, classes = twin
    ours, grads = attention.maps_and_gradients(network, x, classes)
    theirs, their_grads = vit_twin.timm_attention(timm_twin, x, classes)
    assert ours.shape == (vit_twin.DEPTH, 3, vit_twin.HEADS, 65, 65)
    assert np.abs(ours - theirs).max() < 1e-6
    assert np.abs(grads - their_grads).max() < 1e-5 * np.abs(their_grads).max()
    assert np.abs(attention.maps(network, x) - ours).max() < 1e-6


@pytest.mark.parametrize("head_fusion", ["mean", "max", "min"])
@pytest.mark.parametrize("discard_ratio", [0.0, 0.9])
def test_rollout_is_vit_explains_and_its_rows_sum_to_one(twin, head_fusion, discard_ratio):
    _, network, x, _ = twin
    maps = attention.maps(network, x)
    joint = attention.rollout(maps, head_fusion, discard_ratio)
    for i in range(len(x)):
        expected = vit_twin.rollout_reference(maps[:, i], discard_ratio, head_fusion)
        assert np.abs(joint[i] - expected).max() < 1e-6
    assert np.abs(joint.sum(axis=-1) - 1).max() < 1e-6
    if discard_ratio:  # the discard changes the map
        assert np.abs(joint - attention.rollout(maps, head_fusion, 0.0)).max() > 1e-3


def test_the_rollout_map_is_the_class_tokens_row_on_the_patch_grid(twin):
    _, network, x, classes = twin
    settings = default_settings(head_fusion="max", discard_ratio=0.5)
    maps = attribution.attribute(network, x[:1], "attention-rollout", classes[:1],
                                 np.zeros_like(x[:1]), settings)
    joint = attention.rollout(attention.maps(network, x[:1]), "max", 0.5)
    grid = joint[:, 0, 1:].reshape(1, 8, 8)  # the patches in row order, the class token dropped
    assert np.abs(maps - upsample(grid.astype(np.float32), (32, 32))).max() < 1e-6


def test_transformer_attribution_is_chefers_generate_relevance(twin, timm_twin):
    _, network, x, classes = twin
    ours = attention.relevance(*attention.maps_and_gradients(network, x, classes))
    theirs_maps, theirs_grads = vit_twin.timm_attention(timm_twin, x, classes)
    for i in range(len(x)):
        expected = vit_twin.relevance_reference(theirs_maps[:, i], theirs_grads[:, i])
        assert np.abs(ours[i, 0, 1:] - expected).max() < 1e-5 * np.abs(expected).max()


def test_gradcam_on_tokens_is_pytorch_grad_cams(twin, timm_twin):
    _, network, x, classes = twin
    settings = network.with_feature_layer(default_settings())
    assert settings.layer == f"block{vit_twin.DEPTH}_norm1"  # pytorch-grad-cam's blocks[-1].norm1
    ours = attribution.attribute(network, x, "gradcam", classes, np.zeros_like(x), settings)
    theirs = vit_twin.grad_cam_reference(timm_twin, x, classes)
    assert np.abs(aligned("gradcam", ours.astype(np.float64)) - theirs).max() < 1e-4


def test_the_last_blocks_output_tokens_get_no_gradient_from_the_class_token_head(twin):
    """Why the CAMs read the last block's first norm (docs/vit.md): after the last attention the
    patch tokens never reach a class-token head."""
    _, network, x, classes = twin
    _, grads = network.features_and_gradient(x, classes, "norm")
    assert grads.shape == (3, 8, 8, vit_twin.DIM) and not grads.any()
    _, grads = network.features_and_gradient(x, classes, f"block{vit_twin.DEPTH}_norm1")
    assert np.abs(grads).max() > 1e-3
