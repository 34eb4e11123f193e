"""`nnvisual maximize` end to end on a tiny saved plotka, and its error cases."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from nnvisual.plots import deprocess
from nnvisual.testing.run_files import read_csv, read_manifest


def read_png(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_maximize_with_retraining_writes_every_output(cli, tiny_plotka, image_folder, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("maximize:\n  retrain_epochs: 1\n  retrain_batch_size: 8\n")
    result = cli("maximize", "--model", tiny_plotka, "--class", "2", "-n", "2", "--steps", "3",
                 "--step-size", "1", "--retrain-on", image_folder / "train" / "frog",
                 "--config", config, "--out", "run")
    assert result.exit_code == 0, result.output
    run = Path("run")
    manifest = read_manifest(run)
    assert manifest["command"] == "maximize" and manifest["status"] == "complete"
    assert manifest["target_class"] == {"index": 2, "name": "class_2"}
    assert manifest["retrain"] == {"source": str(image_folder / "train" / "frog"), "images": 12,
                                   "epochs_run": 1}
    assert manifest["device"]
    for name in ("figures/reconstructions.png", "figures/trajectory.png", "model_retrained.keras",
                 "tables/retrain_history.csv"):
        assert (run / name).is_file(), name
    arrays = np.load(run / "reconstructions.npz")
    assert sorted(arrays.files) == ["after", "before", "initial"]
    assert all(arrays[key].shape == (2, 32, 32, 3) for key in arrays.files)
    assert 100 <= arrays["initial"].min() and arrays["initial"].max() < 101  # the paper's noise
    assert not np.allclose(arrays["before"], arrays["after"])  # retraining changed the model
    for phase in ("before", "after"):
        assert sorted(p.name for p in (run / phase).iterdir()) == ["00.png", "01.png"]
        for i in range(2):
            np.testing.assert_array_equal(read_png(run / phase / f"{i:02d}.png"),
                                          deprocess(arrays[phase][i]))
    rows = read_csv(run / "tables/trajectory.csv")
    assert list(rows[0]) == ["phase", "image", "step", "objective", "probability"]
    assert len(rows) == 2 * 2 * 4  # phases x images x (steps + 1)
    assert {(r["phase"], r["image"], r["step"]) for r in rows} == {
        (p, str(i), str(s)) for p in ("before", "after") for i in range(2) for s in range(4)}
    rows = read_csv(run / "tables/final.csv")
    assert list(rows[0]) == ["phase", "image", "objective", "probability", "top1_class", "top1_name"]
    assert [(r["phase"], r["image"]) for r in rows] == [("before", "0"), ("before", "1"),
                                                        ("after", "0"), ("after", "1")]
    assert all(r["top1_name"] == f"class_{r['top1_class']}" and 0 <= float(r["probability"]) <= 1
               for r in rows)
    import keras

    assert keras.models.load_model(run / "model_retrained.keras").output_shape == (None, 3)
    assert "mean probability: before" in result.output


def test_same_seed_same_files(cli, tiny_plotka):
    outputs = []
    for out in ("a", "b"):
        result = cli("maximize", "--model", tiny_plotka, "--class", "1", "-n", "2", "--steps", "2",
                     "--jitter", "1", "--seed", "3", "--out", out)
        assert result.exit_code == 0, result.output
        outputs.append([(Path(out) / name).read_bytes()
                        for name in ("before/00.png", "before/01.png", "tables/final.csv",
                                     "tables/trajectory.csv")])
    assert outputs[0] == outputs[1]
    assert not Path("a/after").exists()


@pytest.mark.parametrize("args,message", [
    (["--class", "xyzzy"], "unknown class name 'xyzzy'"),
    (["--class", "3"], "class 3 is out of range"),
    (["--class", "284", "--retrain-on", "anything"], "nnvisual train --num-classes 1000"),
    (["--class", "0", "--retrain-on", "missing-folder"], "image source not found: missing-folder"),
    (["--class", "0", "--steps", "0"], "steps must be at least 1"),
    (["--class", "0", "--optimizer", "rmsprop"], "'rmsprop' is not one of 'study', 'adam'"),
])
def test_errors_exit_2_with_one_line_and_no_run_folder(cli, tiny_plotka, args, message):
    result = cli("maximize", "--model", tiny_plotka, *args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not Path("results").exists()


def test_an_unknown_optimizer_in_a_config_file_is_one_line(cli, tiny_plotka, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("maximize:\n  optimizer: sgd\n")
    result = cli("maximize", "--model", tiny_plotka, "--class", "0", "--config", config)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "unknown optimizer 'sgd': choose study or adam" in result.output
    assert not Path("results").exists()


def test_a_missing_model_is_an_error(cli):
    result = cli("maximize", "--model", "nowhere.keras", "--class", "1")
    assert result.exit_code == 2 and "model not found: nowhere.keras" in result.output


@pytest.mark.slow  # two runs, ~30 s
def test_channel_grid_with_lucids_methods_is_one_batch_and_seeded(cli, tiny_plotka):
    outputs = []
    for out in ("a", "b"):
        result = cli("maximize", "--model", tiny_plotka, "--channel-grid", "conv3:0,5,63",
                     "--param", "fft", "--decorrelate", "--transforms", "standard", "--steps", "3",
                     "--seed", "4", "--out", out)
        assert result.exit_code == 0, result.output
        run = Path(out)
        assert sorted(p.name for p in (run / "before").iterdir()) == ["00.png", "01.png", "02.png"]
        assert (run / "figures/channels_conv3.png").is_file()
        assert "target_class" not in read_manifest(run)
        outputs.append([(run / name).read_bytes() for name in (
            "before/00.png", "before/02.png", "tables/final.csv", "tables/trajectory.csv")])
    assert outputs[0] == outputs[1]
    arrays = np.load("a/reconstructions.npz")
    assert arrays["before"].shape == (3, 32, 32, 3)
    assert 0 < arrays["before"].min() and arrays["before"].max() < 255  # the sigmoid's range


def test_an_objective_expression_with_diversity(cli, tiny_plotka):
    result = cli("maximize", "--model", tiny_plotka, "--objective", "neuron:conv5:5 - 0.5*class:2",
                 "--diversity", "10", "--diversity-layer", "conv2", "--transforms",
                 "jitter=2,rotate=5", "-n", "2", "--steps", "2", "--step-size", "1", "--out", "run")
    assert result.exit_code == 0, result.output
    manifest = read_manifest("run")
    assert manifest["target_class"] == {"index": 2, "name": "class_2"}  # the class term's
    assert manifest["config"]["objective"] == "neuron:conv5:5 - 0.5*class:2"
    assert len(read_csv("run/tables/final.csv")) == 2


@pytest.mark.parametrize("args,message", [
    (["--objective", "channel:nowhere:1"], "unknown layer 'nowhere'"),
    (["--objective", "channel:conv3:64"], "channel 64 is out of range for layer 'conv3' with 64"),
    (["--objective", "channel:conv3:"], "malformed objective"),
    (["--objective", "class:1 +"], "malformed objective"),
    (["--objective", "neuron:dense1:3"], "needs a feature map"),
    (["--channel-grid", "dense1"], "needs a feature map"),
    (["--channel-grid", "conv1:a,b"], "--channel-grid conv1:a,b: use LAYER"),
    (["--diversity", "1"], "diversity needs a layer: --diversity-layer LAYER"),
    (["--transforms", "spin=3"], "bad transform 'spin=3'"),
    (["--objective", "layer:conv1", "--retrain-on", "x"], "--retrain-on needs a class"),
])
def test_objective_errors_exit_2_with_one_line_and_no_run_folder(cli, tiny_plotka, args, message):
    result = cli("maximize", "--model", tiny_plotka, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not Path("results").exists()


def test_fft_refuses_a_non_square_model(cli, tmp_path):
    import keras

    path = tmp_path / "wide.keras"
    keras.Sequential([keras.Input((8, 12, 3)), keras.layers.Flatten(),
                      keras.layers.Dense(3, activation="softmax")]).save(path)
    result = cli("maximize", "--model", path, "--class", "1", "--param", "fft")
    assert result.exit_code == 2
    assert "--param fft needs a square input of at least 4x4 pixels; the model takes 8x12" in (
        result.output)
    assert not Path("results").exists()


def test_channels_of_a_layer_inside_a_nested_model(cli, tmp_path):
    """A backbone nested as a layer: its layers are named by path, in the channel grid and in
    expressions; the path's '/' becomes '--' in the figure's and the run folder's names."""
    import keras

    backbone = keras.Sequential([keras.Input((8, 8, 3)),
                                 keras.layers.Conv2D(4, 3, activation="relu", name="conv")],
                                name="backbone")
    path = tmp_path / "nested.keras"
    keras.Sequential([keras.Input((8, 8, 3)), backbone, keras.layers.GlobalAveragePooling2D(),
                      keras.layers.Dense(3, activation="softmax")]).save(path)
    grid = cli("maximize", "--model", path, "--channel-grid", "backbone/conv:1,3", "-n", "2",
               "--steps", "2")
    assert grid.exit_code == 0, grid.output
    (run,) = Path("results").iterdir()
    assert run.name.startswith("maximize-nested-channels-backbone--conv-")
    assert (run / "figures" / "channels_backbone--conv.png").is_file()
    expression = cli("maximize", "--model", path, "--objective", "channel:backbone/conv:2 + class:1",
                     "-n", "1", "--steps", "2", "--out", tmp_path / "expression")
    assert expression.exit_code == 0, expression.output
    trajectory = read_csv(tmp_path / "expression" / "tables" / "trajectory.csv")
    objective = [float(row["objective"]) for row in trajectory]
    assert len(objective) == 3 and objective[2] > objective[0]  # steps 0, 1, 2: the ascent climbs
