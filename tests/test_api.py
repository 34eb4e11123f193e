"""The Python API (``import nnvisual as nv``): each function on a live model, its arrays equal to
the command line's files for the same seed, the caller's model unmodified, and bad keywords
refused before anything runs."""

import io
import logging
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest

import nnvisual as nv
from nnvisual.errors import UserError
from nnvisual.models import study
from nnvisual.testing.images import write_textured_folder
from nnvisual.testing.run_files import read_manifest
from nnvisual.testing.run_folders import maximize_run

CLASSES = 3


@pytest.fixture(autouse=True)
def _own_folder(isolated):
    """Each test in its own working folder and cache (results/ and descriptor caches land there)."""


@pytest.fixture(scope="module")
def plotka():
    """An untrained 3-way plotka (32x32 inputs), built once."""
    keras.utils.set_random_seed(0)
    return study.build_plotka(num_classes=CLASSES, mean=[120, 120, 120])


@pytest.fixture
def plotka_file(plotka, tmp_path):
    path = tmp_path / "plotka.keras"
    plotka.save(path)
    return path


@pytest.fixture(scope="module")
def photos():
    """Two uint8 RGB photos of different sizes (resized by every function)."""
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (40, 48, 3), np.uint8), rng.integers(0, 256, (32, 32, 3), np.uint8)]


def state(model):
    """Everything a function could change in a model: its weights and trainable flags."""
    return [w.copy() for w in model.get_weights()], [layer.trainable for layer in model.layers]


def assert_unmodified(model, before):
    weights, trainable = state(model)
    assert trainable == before[1]
    for now, then in zip(weights, before[0], strict=True):
        np.testing.assert_array_equal(now, then)


def write_pngs(folder, images):
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"image-{i:03d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return folder


def run_files(run):
    """The bytes of every output a run folder's manifest lists."""
    return {name: (run / name).read_bytes() for name in read_manifest(run)["outputs"]}


# -- the package --------------------------------------------------------------------------------
def test_import_is_cheap_and_the_api_is_the_package_all():
    code = ("import sys, nnvisual; heavy = [m for m in ('keras', 'tensorflow', 'numpy', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    import nnvisual.api

    assert nv.__all__ == nnvisual.api.__all__
    assert all(callable(getattr(nv, name)) for name in nv.__all__)
    assert set(nv.__all__) <= set(dir(nv))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nv.nope  # noqa: B018


def test_help_lists_the_parameters_and_the_configs_defaults():
    text = nv.project.__doc__
    flat = " ".join(text.split())  # the docstring's words, its line breaks aside
    for part in ("Parameters:", "Returns:", "Example", ">>> ", "Zeiler & Fergus 2014",
                 "``top_k``: Channels per layer (default 8).",
                 "``top9_images``: Images of the split scanned for --top9, stratified (default 2000)."):
        assert part in flat
    settings = flat.split("Settings (keywords; DeconvConfig):")[1]
    assert "``model``" not in settings and "``image``:" not in settings  # arguments, not settings
    for function in (nv.maximize, nv.attribute, nv.sanity_check, nv.evaluate, nv.score_bow, nv.train,
                     nv.load_model):
        assert "Example" in function.__doc__ and "Returns:" in function.__doc__


@pytest.mark.parametrize("call, word", [
    (lambda m: nv.project(m, topk=3), "topk"),
    (lambda m: nv.maximize(m, 1, stepz=3), "stepz"),
    (lambda m: nv.attribute(m, np.zeros((8, 8, 3), np.uint8), method="saliency"), "method"),
    (lambda m: nv.sanity_check(m, np.zeros((8, 8, 3), np.uint8), randomisation="cascading"),
     "randomisation"),
    (lambda m: nv.evaluate(m, np.zeros((8, 8, 3), np.uint8), metric="sparseness"), "metric"),
    (lambda m: nv.score_bow([], [], vocabulary=5), "vocabulary"),
    (lambda m: nv.train(epoch=1), "epoch"),
])
def test_an_unknown_keyword_is_a_type_error_naming_it(plotka, call, word):
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{word}'; its settings are: "):
        call(plotka)


def test_a_bad_value_is_a_user_error_before_anything_runs(plotka, photos):
    with pytest.raises(UserError, match="top_k must be at least 1, got 0"):
        nv.project(plotka, photos[0], top_k=0)
    with pytest.raises(UserError, match="unknown layer 'nope'"):
        nv.project(plotka, photos[0], layers=["nope"])
    with pytest.raises(UserError, match=r"uint8 \(height, width, 3\) RGB array, got float64"):
        nv.project(plotka, np.zeros((8, 8, 3)))
    with pytest.raises(UserError, match="class 7 is out of range"):
        nv.maximize(plotka, 7)


# -- load_model ---------------------------------------------------------------------------------
def test_load_model_of_a_live_model_a_file_and_a_train_run(plotka, plotka_file, cli, image_folder,
                                                           tmp_path):
    live = nv.load_model(plotka, class_names=["cat", "dog", "frog"], name="mine")
    assert live.model is plotka and live.image_size == (32, 32) and live.name == "mine"
    assert live.class_names == ("cat", "dog", "frog") and nv.load_model(live) is live
    assert np.array_equal(live.preprocess(np.ones((1, 32, 32, 3))), np.ones((1, 32, 32, 3)))
    assert nv.load_model(plotka_file).class_names == ("class_0", "class_1", "class_2")
    result = cli("train", "--data", image_folder, "--epochs", 1, "--batch-size", 8, "--out", "run")
    assert result.exit_code == 0, result.output
    assert nv.load_model(tmp_path / "run").class_names[:3] == ("cat", "dog", "frog")
    flat = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)])
    with pytest.raises(UserError, match="does not take RGB images"):
        nv.load_model(flat)
    with pytest.raises(TypeError, match="not list"):
        nv.load_model([1, 2])


# -- project (deconv) ---------------------------------------------------------------------------
def test_project_equals_the_cli_and_leaves_the_model_alone(plotka, plotka_file, photos, cli,
                                                           tmp_path):
    cv2.imwrite(str(tmp_path / "photo.png"), cv2.cvtColor(photos[0], cv2.COLOR_RGB2BGR))
    assert cli("deconv", "--model", plotka_file, "--image", tmp_path / "photo.png", "--layers",
               "conv1,conv4", "--top-k", 3, "--out", tmp_path / "cli").exit_code == 0
    before, calls = state(plotka), []
    result = nv.project(plotka, photos[0], layers="conv1,conv4", top_k=3,
                        progress=lambda *call: calls.append(call))
    assert_unmodified(plotka, before)
    assert calls == [(0, 2, "conv1"), (1, 2, "conv4"), (2, 2, "done")]
    assert result.layers["conv4"].projections.shape == (3, 32, 32, 3)
    with np.load(tmp_path / "cli" / "projections.npz") as stored:
        assert sorted(stored.files) == sorted(result.arrays)
        for name in stored.files:
            np.testing.assert_array_equal(stored[name], result.arrays[name])
    header, rows = result.tables["channels"]
    assert header[:3] == ("layer", "rank", "channel") and len(rows) == 6
    # the same inputs given as the CLI gives them: the same files, byte for byte
    saved = nv.project(str(plotka_file), str(tmp_path / "photo.png"), layers="conv1,conv4",
                       top_k=3).save(tmp_path / "api")
    assert run_files(saved) == run_files(tmp_path / "cli")
    manifest = read_manifest(saved)
    assert manifest["status"] == "complete" and manifest["argv"] == ["python: nnvisual.project"]
    assert type(result.plot()).__name__ == "Figure" and type(result.plot("conv1")).__name__ == "Figure"


def test_project_several_images_gives_what_each_gives_alone(plotka, photos, tmp_path, caplog):
    folder = write_pngs(tmp_path / "photos", photos)
    (folder / "notes.txt").write_text("not an image")
    alone = [nv.project(plotka, photo, layers="conv4", top_k=2) for photo in photos]
    assert not all(np.array_equal(alone[0].arrays[name], alone[1].arrays[name])  # order shows
                   for name in alone[0].arrays)
    with caplog.at_level(logging.WARNING, logger="nnvisual.api"):
        cases = [(nv.project(plotka, photos, layers="conv4", top_k=2), alone),
                 (nv.project(plotka, np.stack([photos[1], photos[1]]), layers="conv4", top_k=2),
                  [alone[1], alone[1]]),
                 (nv.project(plotka, folder, layers="conv4", top_k=2), alone)]  # notes.txt skipped
    for several, expected in cases:  # a list with one result per image, in order
        assert isinstance(several, list) and len(several) == len(expected)
        for result, single in zip(several, expected, strict=True):
            assert sorted(result.arrays) == sorted(single.arrays)
            for name, array in single.arrays.items():
                np.testing.assert_array_equal(result.arrays[name], array)
    assert [r.getMessage() for r in caplog.records] == [
        "skipped notes.txt: not an image OpenCV can read"]
    with pytest.raises(UserError, match="uint8"):  # every image checked before any is projected
        nv.project(plotka, [photos[0], np.zeros((8, 8, 3))], layers="conv4",
                   progress=lambda *call: pytest.fail("projected before the check"))


# -- maximize -----------------------------------------------------------------------------------
def test_maximize_equals_the_cli_and_retrains_a_copy(plotka, plotka_file, image_folder, cli,
                                                     tmp_path):
    frogs = image_folder / "train" / "frog"
    args = dict(n=2, steps=3, step_size=1.0, jitter=1, retrain_on=str(frogs), retrain_epochs=1)
    assert cli("maximize", "--model", plotka_file, "--class", 2, "-n", 2, "--steps", 3,
               "--step-size", 1, "--jitter", 1, "--retrain-on", frogs, "--retrain-epochs", 1,
               "--out", tmp_path / "cli").exit_code == 0
    before = state(plotka)
    result = nv.maximize(plotka, 2, **args)
    assert_unmodified(plotka, before)
    assert result.computed.retrained_model is not plotka
    assert result.shown["after"].shape == (2, 32, 32, 3) and result.shown["after"].dtype == np.uint8
    with np.load(tmp_path / "cli" / "reconstructions.npz") as stored:
        for phase in ("initial", "before", "after"):
            np.testing.assert_array_equal(stored[phase], result.arrays[phase])
    # the same files, but for the config's model (a live model has no path) and the date that
    # Keras writes into model_retrained.keras
    saved, cli_files = run_files(result.save(tmp_path / "api")), run_files(tmp_path / "cli")
    assert sorted(saved) == sorted(cli_files)
    assert {name for name in saved if saved[name] != cli_files[name]} <= {"config.yaml",
                                                                         "model_retrained.keras"}
    assert (tmp_path / "api" / "config.yaml").read_text().replace("model: plotka\n", "") == \
        (tmp_path / "cli" / "config.yaml").read_text().replace(f"model: {plotka_file}\n", "")
    assert read_manifest(tmp_path / "api")["target_class"] == {"index": 2, "name": "class_2"}
    for kind in ("reconstructions", "trajectory"):
        assert type(result.plot(kind)).__name__ == "Figure"


def test_maximize_an_expression_and_a_channel_grid(plotka):
    result = nv.maximize(plotka, "neuron:conv4:5 - 0.5*class:1", n=2, steps=2)
    assert result.run_name == "plotka-1" and result.computed.phases["before"].objective.shape == (3, 2)
    grid = nv.maximize(plotka, channel_grid="conv2:0,3,4", steps=2, param="fft")
    assert grid.images["before"].shape == (3, 32, 32, 3)
    assert type(grid.plot("channels")).__name__ == "Figure"


# -- attribute and sanity_check -----------------------------------------------------------------
def test_attribute_arrays_equal_the_cli_on_the_same_images(plotka, plotka_file, photos, cli,
                                                           tmp_path):
    folder = write_pngs(tmp_path / "photos", photos)
    assert cli("attribute", "--model", plotka_file, "--images", folder, "--method",
               "saliency,gradcam", "--out", tmp_path / "cli").exit_code == 0
    before = state(plotka)
    result = nv.attribute(plotka, photos, methods=["saliency", "gradcam"])
    assert_unmodified(plotka, before)
    assert result.maps["gradcam"].shape == (2, 32, 32) and result.images.shape == (2, 32, 32, 3)
    with np.load(tmp_path / "cli" / "attributions.npz") as stored:
        assert stored["images"].tolist() == list(result.names)
        for method in ("saliency", "gradcam"):
            np.testing.assert_array_equal(stored[method], result.maps[method])
    assert nv.attribute(plotka, folder, methods="saliency").names == result.names
    saved = nv.attribute(str(plotka_file), str(folder), methods="saliency,gradcam").save(tmp_path / "api")
    assert run_files(saved) == run_files(tmp_path / "cli")
    with pytest.raises(TypeError, match="images must be a path"):
        nv.attribute(plotka, np.zeros((4, 4), np.uint8))


def test_a_model_of_any_input_size_runs_at_the_size_given(photos):
    """``image_size`` completes a free input size: the maps equal those of the same weights in
    a model built for that size; without it, one clear error."""
    def fully_convolutional(size):
        return keras.Sequential([keras.Input((*size, 3)),
                                 keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(CLASSES, activation="softmax")])

    free, fixed = fully_convolutional((None, None)), fully_convolutional((20, 28))
    fixed.set_weights(free.get_weights())
    with pytest.raises(UserError, match="takes images of any size"):
        nv.attribute(free, photos, methods="saliency")
    maps = nv.attribute(free, photos, methods="saliency,gradcam", image_size="20x28").maps
    expected = nv.attribute(fixed, photos, methods="saliency,gradcam").maps
    for method in ("saliency", "gradcam"):
        assert maps[method].shape == (2, 20, 28)
        np.testing.assert_allclose(maps[method], expected[method], rtol=1e-5, atol=1e-6)
    projected = nv.project(free, photos[0], layers="conv1", top_k=2, image_size="24")
    assert projected.layers["conv1"].projections.shape == (2, 24, 24, 3)
    assert nv.maximize(free, 1, n=1, steps=2, image_size="16").images["before"].shape == (1, 16, 16, 3)


def test_attribute_tells_its_progress_and_each_skipped_file(plotka, photos, tmp_path, caplog):
    folder = write_pngs(tmp_path / "photos", photos * 2)
    (folder / "image-001.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # a reader, no image
    (folder / "notes.txt").write_text("not an image")
    calls = []
    with caplog.at_level(logging.WARNING, logger="nnvisual.api"):
        result = nv.attribute(plotka, folder, methods="saliency", batch_size=3,
                              progress=lambda *call: calls.append(call))
    assert calls == [(3, 4, "image-002.png"), (4, 4, "image-003.png")]
    assert result.names == ("image-000.png", "image-002.png", "image-003.png")
    assert [name for name, _ in result.skipped] == ["notes.txt", "image-001.png"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "skipped notes.txt", "skipped image-001.png"]


def test_sanity_check_randomizes_copies_and_equals_the_cli(plotka, plotka_file, photos, cli,
                                                           tmp_path):
    folder = write_pngs(tmp_path / "photos", photos)
    settings = ["--method", "saliency", "--randomization", "cascading", "--curve-steps", 2,
                "--bootstrap", 100]
    assert cli("sanity", "--model", plotka_file, "--images", folder, *settings,
               "--out", tmp_path / "cli").exit_code == 0
    before, calls = state(plotka), []
    result = nv.sanity_check(plotka, photos, methods="saliency", randomizations="cascading",
                             curve_steps=2, bootstrap=100, progress=lambda *call: calls.append(call))
    assert_unmodified(plotka, before)
    stages = len(result.computed.stages["cascading"])
    assert [done for done, _, _ in calls] == list(range(stages + 1))
    assert calls[0] == (0, stages, "cascading dense2") and calls[-1][1:] == (stages, "deletion and insertion")
    with np.load(tmp_path / "cli" / "maps.npz") as stored:
        assert sorted(stored.files) == sorted(result.arrays)
        for name in ("original/saliency", "cascading/saliency", "deletion/saliency"):
            np.testing.assert_array_equal(stored[name], result.arrays[name])
    assert result.tables["faithfulness"][0][0] == "curve"
    assert type(result.plot("cascading")).__name__ == "Figure"
    # the same files, but for the config's model (a live model has no path) and images (arrays)
    saved, cli_files = run_files(result.save(tmp_path / "api")), run_files(tmp_path / "cli")
    assert sorted(saved) == sorted(cli_files)
    assert {name for name in saved if saved[name] != cli_files[name]} == {"config.yaml"}


# -- score_bow ----------------------------------------------------------------------------------
def test_score_bow_of_arrays_equals_the_cli_on_their_folders(cli, tmp_path):
    classes = write_textured_folder(tmp_path / "class", range(6))
    reconstructions = write_textured_folder(tmp_path / "reconstructions", range(50, 53))
    (tmp_path / "config.yaml").write_text("score_bow:\n  bootstrap: 200\n")
    assert cli("score-bow", "--reconstructions", reconstructions, "--class-images", classes,
               "--size", 64, "--config", tmp_path / "config.yaml", "--out", tmp_path / "cli"
               ).exit_code == 0
    read = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
            for p in sorted(reconstructions.iterdir())]
    result = nv.score_bow({"reconstructions": np.stack(read)}, classes, size=64, bootstrap=200)
    header, rows = result.tables["table3"]
    cli_rows = (tmp_path / "cli" / "tables" / "table3.csv").read_text().splitlines()
    assert cli_rows[0] == ",".join(header) and len(rows) == 1
    assert f"{rows[0][2]:.6g}" == cli_rows[1].split(",")[2]  # the mean maximum score
    saved = nv.score_bow(str(reconstructions), str(classes), size=64, bootstrap=200).save(tmp_path / "api")
    assert run_files(saved) == run_files(tmp_path / "cli")


def test_score_bow_of_a_maximize_run_equals_the_cli_and_tells_its_progress(cli, tmp_path):
    """A maximize run folder is its before/ and after/ phases; class_count keeps the first class
    images, which stay the training images when named twice (as the command does)."""
    run = maximize_run(tmp_path / "maximize-run")
    classes = write_textured_folder(tmp_path / "class", range(5))
    (tmp_path / "config.yaml").write_text("score_bow:\n  bootstrap: 200\n")
    assert cli("score-bow", "--reconstructions", run, "--class-images", classes, "--training-images",
               classes, "--class-count", 3, "--size", 64, "--vocab-size", 4,
               "--config", tmp_path / "config.yaml", "--out", tmp_path / "cli").exit_code == 0
    calls = []
    result = nv.score_bow(run, str(classes), str(classes), size=64, vocab_size=4, class_count=3,
                          bootstrap=200, progress=lambda *call: calls.append(call))
    assert [phase.reconstructions.name for phase in result.computed.phases] == ["before", "after"]
    assert result.computed.class_images.names == ["img000.png", "img001.png", "img002.png"]
    assert result.computed.training_images is result.computed.class_images
    assert calls == [(0, 8, "features"), *[(i, 8, "before") for i in range(1, 5)],
                     *[(i, 8, "after") for i in range(5, 9)]]
    assert result.run_name == "maximize-run"
    assert run_files(result.save(tmp_path / "api")) == run_files(tmp_path / "cli")


# -- train --------------------------------------------------------------------------------------
def test_train_saves_a_run_the_other_functions_load(image_folder, cli, tmp_path):
    assert cli("train", "--data", image_folder, "--num-classes", 3, "--epochs", 1, "--batch-size", 8,
               "--deterministic", "--out", tmp_path / "cli").exit_code == 0
    result = nv.train("plotka", str(image_folder), num_classes=3, epochs=1, batch_size=8,
                      deterministic=True, verbose=0)
    assert isinstance(result.model, keras.Model) and len(result.computed.history["loss"]) == 1
    assert sorted(result.computed.test) == ["accuracy", "loss"]
    assert result.tables["metrics"][0][:2] == ("metric", "training")
    run = result.save(tmp_path / "run")
    assert {"model.keras", "tables/history.csv", "tables/metrics.csv", "figures/curves.png"} <= set(
        read_manifest(run)["outputs"])
    loaded = nv.load_model(run)
    assert loaded.class_names == ("cat", "dog", "frog")
    np.testing.assert_array_equal(loaded.model.get_weights()[1], result.model.get_weights()[1])
    # the command's run: the same network, tables and manifest (but for the epoch's seconds)
    for mine, theirs in zip(loaded.model.get_weights(), nv.load_model(tmp_path / "cli").model.get_weights(),
                            strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert (run / "tables/metrics.csv").read_bytes() == (tmp_path / "cli/tables/metrics.csv").read_bytes()
    manifests = [read_manifest(path) for path in (run, tmp_path / "cli")]
    for key in ("data", "data_description", "data_streamed", "class_names", "images", "precision",
                "devices", "epochs_done", "test", "config"):
        assert manifests[0][key] == manifests[1][key], key
    assert sorted(manifests[0]["outputs"]) == sorted(manifests[1]["outputs"])


# -- the command line's progress bar ------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_shows_on_a_terminal_only(monkeypatch):
    import click

    from nnvisual.commands import options

    terminal = Terminal()
    monkeypatch.setattr(click, "get_text_stream", lambda name: terminal)
    with options.progress_bar("projecting") as progress:
        progress(0, 2, "conv1")
        progress(2, 2, "done")
    assert "projecting" in terminal.getvalue() and "2/2" in terminal.getvalue()
    monkeypatch.setattr(click, "get_text_stream", lambda name: io.StringIO())
    with options.progress_bar("projecting") as progress:
        assert progress(1, 2, "conv1") is None
