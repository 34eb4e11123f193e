"""`nnvisual deconv` end to end: a saved tiny plotka, error cases, VGG16 with random weights."""


import cv2
import keras
import numpy as np
import pytest
from keras import layers

from nnvisual.models import study
from nnvisual.testing.run_files import flip_byte, read_csv, read_manifest

CHANNEL_COLUMNS = ["layer", "rank", "channel", "activation", "row", "col",
                   "rf_top", "rf_left", "rf_bottom", "rf_right"]


@pytest.fixture
def plotka_file(tmp_path):
    keras.utils.set_random_seed(0)
    path = tmp_path / "plotka.keras"
    study.build_plotka(mean=[120.0, 115.0, 100.0]).save(path)
    return path


def test_plotka_end_to_end(cli, plotka_file, tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (40, 48), dtype=np.uint8)  # grey, resized
    cv2.imwrite(str(tmp_path / "grey.png"), image)
    result = cli("deconv", "--model", plotka_file, "--image", tmp_path / "grey.png",
                 "--layers", "conv1,conv4", "--top-k", "3", "--out", "run")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    manifest = read_manifest(run)
    assert manifest["status"] == "complete"
    assert manifest["layers"] == ["conv1", "conv4"]
    for name in ("figures/conv1.png", "figures/conv4.png", "figures/overview.png",
                 "projections.npz", "tables/channels.csv"):
        assert (run / name).stat().st_size > 0
        assert manifest["outputs"][name]
    rows = read_csv(run / "tables/channels.csv")
    assert list(rows[0]) == CHANNEL_COLUMNS
    assert [(r["layer"], int(r["rank"])) for r in rows] == [
        ("conv1", 0), ("conv1", 1), ("conv1", 2), ("conv4", 0), ("conv4", 1), ("conv4", 2)]
    with np.load(run / "projections.npz") as stored:
        assert stored["image"].shape == (32, 32, 3)
        for layer in ("conv1", "conv4"):
            assert stored[layer].shape == (3, 32, 32, 3)
            assert stored[layer].dtype == np.float32
            layer_rows = [r for r in rows if r["layer"] == layer]
            assert stored[f"{layer}_channels"].tolist() == [int(r["channel"]) for r in layer_rows]
            activations = [float(r["activation"]) for r in layer_rows]
            assert activations == sorted(activations, reverse=True)
            for r, projection in zip(layer_rows, stored[layer], strict=True):
                top, left, bottom, right = (int(r[k]) for k in CHANNEL_COLUMNS[6:])
                inside = np.zeros((32, 32), bool)
                inside[top:bottom, left:right] = True
                assert np.abs(projection).sum(axis=2)[~inside].max() == 0  # mode max: in the field
                assert np.abs(projection).max() > 0


@pytest.mark.slow
def test_default_layers_image_config_and_same_seed_same_files(cli, plotka_file, tmp_path):
    (tmp_path / "deconv.yaml").write_text("deconv:\n  top_k: 5\n  mode: map\n  method: guided\n")
    args = ("deconv", "--model", plotka_file, "--config", "deconv.yaml", "--top-k", "2")
    assert cli(*args, "--out", "a").exit_code == 0
    assert cli(*args, "--out", "b").exit_code == 0
    first = read_manifest(tmp_path / "a")
    second = read_manifest(tmp_path / "b")
    assert first["image"].startswith("sklearn.datasets.load_sample_image")
    assert first["layers"] == [f"conv{i}" for i in range(1, 7)]
    assert (first["config"]["top_k"], first["config"]["mode"], first["config"]["method"]) == (
        2, "map", "guided")  # the flag overrides the file
    assert len(read_csv(tmp_path / "a/tables/channels.csv")) == 6 * 2
    assert first["outputs"] == second["outputs"]  # identical file hashes


@pytest.mark.parametrize("args, message", [
    (("--layers", "conv1,conv9"),
     "unknown layer 'conv9'; feature-map layers of plotka: mean_subtraction, conv1,"),
    (("--layers", "dense1"), "layer 'dense1' is a Dense with a 2-D output, not a feature map"),
    (("--image", "missing.png"), "image not found: missing.png"),
    (("--top-k", "0"), "top_k must be at least 1"),
])
def test_errors_exit_2_with_one_line_and_no_run(cli, plotka_file, tmp_path, args, message):
    result = cli("deconv", "--model", plotka_file, *args, "--out", "run")
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_train_run_folder_as_model(cli, tmp_path):
    from nnvisual import runs

    keras.utils.set_random_seed(0)
    run = runs.create_run("train", "plotka", {"model": "plotka"}, out=tmp_path / "train-run")
    run.save_model("model.keras", study.build_bonaccorso())
    run.finish()
    result = cli("deconv", "--model", tmp_path / "train-run", "--top-k", "1", "--out", "run")
    assert result.exit_code == 0, result.output
    layers = [r["layer"] for r in read_csv(tmp_path / "run/tables/channels.csv")]
    assert layers == ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2"]


@pytest.mark.parametrize("given", ["run", "file"])
@pytest.mark.parametrize("damage, message", [
    ("one byte", "model.keras does not match the sha256 its run recorded: the run folder {run} "
                 "changed after it was written"),
    ("deleted", "model.keras is missing: the run folder {run} changed after it was written"),
])
def test_a_train_runs_model_changed_since_the_run_is_refused(cli, tmp_path, given, damage, message):
    from nnvisual import runs

    run = runs.create_run("train", "plotka", {"model": "plotka"}, out=tmp_path / "train-run")
    run.save_model("model.keras", study.build_bonaccorso())
    run.finish()
    if damage == "one byte":
        flip_byte(run.path / "model.keras")
    else:
        (run.path / "model.keras").unlink()
    model = run.path if given == "run" else run.path / "model.keras"
    if given == "file" and damage == "deleted":
        message = "model not found"
    result = cli("deconv", "--model", model, "--top-k", "1", "--out", "run")
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert message.format(run=run.path) in line
    assert not (tmp_path / "run").exists()


def test_unsupported_activation_exits_2(cli, tmp_path):
    model = keras.Sequential([keras.Input((16, 16, 3)),
                              layers.Conv2D(4, 3, activation="tanh", name="c1"),
                              layers.Conv2D(4, 3, activation="relu", name="c2")])
    model.save(tmp_path / "tanh.keras")
    result = cli("deconv", "--model", tmp_path / "tanh.keras", "--layers", "c2", "--out", "run")
    assert result.exit_code == 2
    assert "layer 'c1' (Conv2D, tanh activation) on the path to 'c2' has no deconvnet rule" in result.output
    assert not (tmp_path / "run").exists()


def test_vgg16_offline_without_weights_names_the_options(cli, tmp_path, monkeypatch):
    from keras.applications import vgg16

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(vgg16, "VGG16", offline)
    result = cli("deconv", "--model", "vgg16", "--out", "run")
    assert result.exit_code == 2
    assert "--weights PATH" in result.output and "--weights none" in result.output
    assert not (tmp_path / "run").exists()


def test_top9_on_an_image_folder(cli, plotka_file, image_folder, tmp_path):
    result = cli("deconv", "--model", plotka_file, "--layers", "conv2", "--top-k", "2", "--top9",
                 "--data", image_folder, "--out", "run")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert (run / "figures/top9_conv2.png").stat().st_size > 0
    rows = read_csv(run / "tables/top9.csv")
    assert list(rows[0]) == ["layer", "channel", "rank", "image", "activation", "row", "col"]
    assert len(rows) == 2 * 9  # 12 test images scanned, 9 kept per channel
    channels = read_csv(run / "tables/channels.csv")
    assert sorted({int(r["channel"]) for r in rows}) == sorted(int(r["channel"]) for r in channels)
    for channel in {r["channel"] for r in rows}:
        activations = [float(r["activation"]) for r in rows if r["channel"] == channel]
        assert activations == sorted(activations, reverse=True)
        assert len({r["image"] for r in rows if r["channel"] == channel}) == 9


@pytest.mark.slow
def test_vgg16_random_weights_end_to_end(cli, tmp_path):
    """VGG16 at 224x224 (about 5-10 s: mode max projects on receptive-field windows)."""
    result = cli("deconv", "--model", "vgg16", "--weights", "none", "--top-k", "2", "--out", "run")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "run/tables/channels.csv")
    assert [r["layer"] for r in rows[::2]] == [f"block{i}_conv1" for i in range(1, 6)]
    with np.load(tmp_path / "run/projections.npz") as stored:
        assert stored["block5_conv1"].shape == (2, 224, 224, 3)
        assert np.isfinite(stored["block5_conv1"]).all()
    assert (tmp_path / "run/figures/overview.png").stat().st_size > 0
