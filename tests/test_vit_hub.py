"""Keras Hub's ViT and DeiT (nnvisual/models/hub.py) on a small random ``ViTImageClassifier`` and
``DeiTImageClassifier``, offline: the preset folder loads by path, each block's adapter computes
the block's own output, the attention methods agree with the maps read from the Keras Hub blocks'
own attention layers, timm holding the same weights gives the same logits and maps, and
``attribute`` explains the preset folder end to end."""

import numpy as np
import pytest

keras_hub = pytest.importorskip("keras_hub")

from keras import ops  # noqa: E402

import nnvisual as nv  # noqa: E402
from nnvisual import attribution  # noqa: E402
from nnvisual.attribution import attention  # noqa: E402
from nnvisual.attribution.network import upsample  # noqa: E402
from nnvisual.attribution.request import default_settings  # noqa: E402
from nnvisual.errors import UserError  # noqa: E402
from nnvisual.graph import gradients  # noqa: E402
from nnvisual.models import hub  # noqa: E402
from nnvisual.runtime import seeding  # noqa: E402
from nnvisual.testing import vit_twin  # noqa: E402
from nnvisual.testing.run_files import read_manifest  # noqa: E402
from nnvisual.testing.torch_reference import import_timm  # noqa: E402

# vit_twin's tiny ViT, so that its timm port reads the copy
SIZE, PATCH, DEPTH, HEADS, DIM, CLASSES = (vit_twin.SIZE, vit_twin.PATCH, vit_twin.DEPTH,
                                           vit_twin.HEADS, vit_twin.DIM, vit_twin.CLASSES)


def small_classifier(family=hub.VIT, seed=0, **settings):
    """A random Keras Hub ViT or DeiT classifier for 32x32 images, with its preprocessor
    (x / 127.5 - 1); ``settings`` go to the classifier."""
    seeding.set_random_seed(seed)
    backbone = getattr(keras_hub.models, f"{family.name}Backbone")(
        image_shape=(SIZE, SIZE, 3), patch_size=PATCH, num_layers=DEPTH, num_heads=HEADS,
        hidden_dim=DIM, **{family.mlp_argument: vit_twin.MLP_RATIO * DIM})
    converter = getattr(keras_hub.layers, f"{family.name}ImageConverter")(
        image_size=(SIZE, SIZE), scale=1 / 127.5, offset=-1.0)
    preprocessor = getattr(keras_hub.models, f"{family.name}ImageClassifierPreprocessor")(
        image_converter=converter)
    classifier = getattr(keras_hub.models, f"{family.name}ImageClassifier")(
        backbone=backbone, num_classes=CLASSES, preprocessor=preprocessor, **settings)
    # larger leading tokens than Keras Hub's initializers give, so the maps differ
    embedding, rng = backbone.layers[1], np.random.default_rng(seed)
    for name in family.leading_tokens:
        getattr(embedding, name).assign(rng.normal(size=(1, 1, DIM)))
    return classifier


@pytest.fixture(scope="module", params=hub.FAMILIES, ids=lambda family: family.name)
def preset(request, tmp_path_factory):
    """(the classifier, its preset folder, 0..255 images, their preprocessed input)."""
    family = request.param
    classifier = small_classifier(family)
    folder = tmp_path_factory.mktemp("hub") / f"{family.name.lower()}_small"
    classifier.save_to_preset(str(folder))
    x = np.random.default_rng(1).uniform(0, 255, (3, SIZE, SIZE, 3)).astype(np.float32)
    return classifier, folder, x, x / 127.5 - 1


def _extra(classifier) -> int:
    """How many tokens lead the patches: the class token, and DeiT's distillation token."""
    return 2 if isinstance(classifier, keras_hub.models.DeiTImageClassifier) else 1


def _tokens(classifier) -> int:
    return (SIZE // PATCH) ** 2 + _extra(classifier)


@pytest.fixture(scope="module")
def loaded(preset):
    return nv.load_model(preset[1])


def _tokens_into_blocks(classifier, inputs):
    """The tokens entering each of the classifier's blocks, computed by Keras Hub's layers."""
    backbone = classifier.backbone
    t = backbone.layers[1](inputs)
    entering = []
    for block in backbone.layers[2].encoder_layers:
        entering.append(t)
        t = _block_output(block(t))
    return entering


def _block_output(output):
    """A Keras Hub block's output tokens (DeiT's blocks return them with their attention)."""
    return output[0] if isinstance(output, tuple) else output


def _through_mlp(block, t):
    """``t`` plus the block's MLP on its second layer norm, by Keras Hub's own sublayers (DeiT's
    ``output_layer`` adds the residual itself)."""
    y = block.mlp(block.layer_norm_2(t))
    return block.output_layer(y, t) if hasattr(block, "output_layer") else t + y


def test_a_preset_folder_loads_offline_as_a_functional_vit(preset, loaded):
    classifier, folder, x, inputs = preset
    assert (folder / "config.json").is_file() and hub.is_preset(folder)
    assert loaded.image_size == (SIZE, SIZE) and len(loaded.class_names) == CLASSES
    assert np.abs(loaded.preprocess(x) - inputs).max() < 1e-6
    model = loaded.model
    assert [layer.name for layer in model.layers if "attn" in layer.name] == ["block1_attn",
                                                                              "block2_attn"]
    tokens = model.get_layer("tokens")
    assert tokens.output.shape[1] == _tokens(classifier)
    assert type(tokens).from_config(tokens.get_config()).extra_tokens == _extra(classifier)
    ours = ops.convert_to_numpy(model(loaded.preprocess(x)))
    theirs = classifier.predict(x, verbose=0)  # through Keras Hub's own preprocessor
    assert np.abs(ours - theirs).max() < 1e-5 * np.abs(theirs).max()
    assert np.abs(theirs).max() > 0.1


def test_each_blocks_adapter_computes_the_blocks_own_output(preset):
    classifier, _, _, inputs = preset
    blocks = classifier.backbone.layers[2].encoder_layers
    for block, tokens in zip(blocks, _tokens_into_blocks(classifier, inputs), strict=True):
        adapter = hub.block_model(block, _tokens(classifier), DIM)
        ours = ops.convert_to_numpy(adapter(tokens))
        theirs = ops.convert_to_numpy(_block_output(block(tokens)))
        assert np.abs(ours - theirs).max() < 1e-6
        assert np.abs(theirs - ops.convert_to_numpy(tokens)).max() > 1e-2  # the block did something


def _hub_maps(classifier, inputs):
    """(L, B, heads, T, T): each block's attention, from Keras Hub's own sublayers."""
    maps = []
    for block, tokens in zip(classifier.backbone.layers[2].encoder_layers,
                             _tokens_into_blocks(classifier, inputs), strict=True):
        y = block.layer_norm_1(tokens)
        _, scores = block.mha(y, y, return_attention_scores=True)
        maps.append(ops.convert_to_numpy(scores))
    return np.stack(maps).astype(np.float64)


def _hub_relevance(classifier, inputs, classes):
    """Chefer et al.'s relevance from the gradient of Keras Hub's logit to each block's map,
    through Keras Hub's own sublayers (a zero (delta V) W_o added to each attention output)."""
    blocks = classifier.backbone.layers[2].encoder_layers
    onehot = np.eye(CLASSES, dtype=np.float32)[classes]

    def logit(deltas):
        t = classifier.backbone.layers[1](inputs)
        maps = []
        for block, delta in zip(blocks, deltas, strict=True):
            y = block.layer_norm_1(t)
            out, scores = block.mha(y, y, return_attention_scores=True)
            maps.append(scores)
            t = _through_mlp(block, t + out + attention._through_values(block.mha, y, delta))
        t = classifier.backbone.layers[2].layer_norm(t)
        scores = classifier.output_dense(t[:, 0])
        return ops.sum(scores * onehot), ops.stack(maps)

    zeros = ops.zeros((DEPTH, len(inputs), HEADS, _tokens(classifier), _tokens(classifier)))
    (_, maps), grads = gradients.value_and_gradient(logit, zeros, has_aux=True)
    return attention.relevance(*(np.asarray(ops.convert_to_numpy(a), np.float64)
                                 for a in (maps, grads)))


def test_the_attention_methods_read_the_keras_hub_blocks_own_maps(preset, loaded):
    classifier, _, _, inputs = preset
    network = attribution.Network(loaded.model)
    theirs = _hub_maps(classifier, inputs)
    assert np.abs(attention.maps(network, inputs) - theirs).max() < 1e-6
    # no discard: which near-equal entries a discard drops turns on 1e-7 (JAX's jit vs eager)
    joint = attention.rollout(theirs, "max", 0.0)
    assert np.abs(joint.sum(axis=-1) - 1).max() < 1e-6
    settings = default_settings(head_fusion="max", discard_ratio=0.0)
    classes = network.logits(inputs).argmax(axis=1)
    ours = attribution.attribute(network, inputs, "attention-rollout", classes,
                                 np.zeros_like(inputs), settings)
    side, extra = SIZE // PATCH, _extra(classifier)
    expected = upsample(joint[:, 0, extra:].reshape(-1, side, side).astype(np.float32),
                        (SIZE, SIZE))
    assert np.abs(ours - expected).max() < 1e-6
    assert np.ptp(expected) > 1e-3  # not a flat map
    relevance = _hub_relevance(classifier, inputs, classes)
    ours = attribution.attribute(network, inputs, "transformer-attribution", classes,
                                 np.zeros_like(inputs), settings)
    expected = upsample(relevance[:, 0, extra:].reshape(-1, side, side).astype(np.float32),
                        (SIZE, SIZE))
    assert np.abs(ours - expected).max() < 1e-5 * np.abs(expected).max()
    assert np.abs(expected).max() > 0


def test_the_copy_computes_timms_logits_and_attention_on_the_same_weights(preset, loaded):
    """timm's VisionTransformer (DeiT: VisionTransformerDistilled) holding the copy's weights
    (vit_twin's port) against Keras Hub: its class token's head, which is a ViT's forward and
    the half of a DeiT's forward that Keras Hub's DeiT classifier computes."""
    import_timm()

    classifier, _, _, inputs = preset
    net = vit_twin.timm_vit(loaded.model)
    logits = ops.convert_to_numpy(classifier(inputs))
    assert np.abs(logits - vit_twin.class_token_logits(net, inputs)).max() < 1e-5
    timm_maps, _ = vit_twin.timm_attention(net, inputs * vit_twin.PIXEL_SCALE, logits.argmax(1))
    assert np.abs(_hub_maps(classifier, inputs) - timm_maps).max() < 1e-6


def test_gradcam_reads_the_last_blocks_first_norm(preset, loaded):
    _, _, _, inputs = preset
    network = attribution.Network(loaded.model)
    settings = network.with_feature_layer(default_settings())
    assert settings.layer == f"block{DEPTH}_norm1"
    classes = network.logits(inputs).argmax(axis=1)
    ours = attribution.attribute(network, inputs, "gradcam", classes, np.zeros_like(inputs),
                                 settings)
    assert ours.shape[:3] == (3, SIZE, SIZE) and np.isfinite(ours).all() and np.abs(ours).max() > 0


def test_a_live_keras_hub_classifier_is_read_through_its_copy(preset):
    classifier, _, x, inputs = preset
    live = nv.load_model(classifier)
    assert np.abs(live.preprocess(x) - inputs).max() < 1e-6
    assert "block1_attn" in [layer.name for layer in live.model.layers]


def test_a_block_without_adapter_is_refused_by_name():
    classifier = small_classifier()

    class MyBlock(type(classifier.backbone.layers[2].encoder_layers[0])):
        pass

    classifier.backbone.layers[2].encoder_layers[1].__class__ = MyBlock
    with pytest.raises(UserError, match="Keras Hub block MyBlock .* has no adapter"):
        hub.functional_copy(classifier)


def test_attribute_explains_a_keras_hub_preset_folder(cli, preset, photos, tmp_path):
    result = cli("attribute", "--model", preset[1], "--images", photos, "--method",
                 "attention-rollout,gradcam", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    arrays = np.load(tmp_path / "run" / "attributions.npz")
    for method in ("attention-rollout", "gradcam"):
        assert arrays[method].shape == (6, SIZE, SIZE) and np.isfinite(arrays[method]).all()
        assert arrays[method].max() > 0
    assert (tmp_path / "run" / "figures" / "grid.png").is_file()
    assert read_manifest(tmp_path / "run")["cam_layer"] == f"block{DEPTH}_norm1"


@pytest.mark.parametrize("family", hub.FAMILIES, ids=lambda family: family.name)
def test_an_unknown_backbone_is_refused_by_name(family):
    classifier = small_classifier(family)

    class MyBackbone(type(classifier.backbone)):
        pass

    classifier.backbone.__class__ = MyBackbone
    with pytest.raises(UserError, match=f"^Keras Hub backbone MyBackbone in a {family.name}"
                                        f"ImageClassifier is not read by nnvisual [^\n]*$"):
        hub.functional_copy(classifier)


def test_a_deit_is_refused_in_one_line_where_its_head_does_not_read_the_class_token():
    with pytest.raises(UserError, match=r"^nnvisual reads Keras Hub DeiTs with a class token and "
                                        r"pooling='token' only \(.*pooling='gap'\)$"):
        hub.functional_copy(small_classifier(hub.DEIT, pooling="gap"))


def test_a_named_deit_preset_with_no_weights_is_built_offline():
    loaded = nv.load_model("keras-hub:deit_tiny_distilled_patch16_224_imagenet", weights="none")
    assert loaded.image_size == (224, 224) and len(loaded.class_names) == 1000
    assert len([layer for layer in loaded.model.layers if layer.name.endswith("_attn")]) == 12
    assert loaded.model.get_layer("tokens").output.shape[1] == 14 * 14 + 2
    x = loaded.preprocess(np.full((1, 224, 224, 3), 255.0))
    assert np.abs(x[0, 0, 0] - (1 - np.array(hub.IMAGENET_MEAN)) / hub.IMAGENET_STD).max() < 1e-5
    assert ops.convert_to_numpy(loaded.model(x)).shape == (1, 1000)


@pytest.mark.slow
def test_a_named_preset_with_no_weights_is_built_offline():
    loaded = nv.load_model("keras-hub:vit_base_patch16_224_imagenet", weights="none")
    assert loaded.image_size == (224, 224) and len(loaded.class_names) == 1000
    assert len([layer for layer in loaded.model.layers if layer.name.endswith("_attn")]) == 12
    x = loaded.preprocess(np.full((1, 224, 224, 3), 255.0))
    assert np.abs(x - 1).max() < 1e-6  # x / 127.5 - 1
    assert ops.convert_to_numpy(loaded.model(x)).shape == (1, 1000)


def test_named_presets_are_refused_in_one_line_when_they_cannot_be_had(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(keras_hub.models.ImageClassifier, "from_preset", offline)
    with pytest.raises(UserError, match="could not be downloaded .*ConnectionError"):
        nv.load_model("keras-hub:vit_base_patch16_224_imagenet")
    with pytest.raises(UserError, match="ImageNet-1k ViT and DeiT presets .* only"):
        nv.load_model("keras-hub:vit_base_patch16_224_imagenet21k", weights="none")
    with pytest.raises(UserError, match="unknown Keras Hub ViT or DeiT preset 'vit_tiny'"):
        nv.load_model("keras-hub:vit_tiny", weights="none")
