"""nnvisual.callbacks and ``train --explain``: the maps written at epoch k are ``nv.attribute``'s on
that epoch's weights, byte for byte (TensorFlow in this process; JAX, and PyTorch among the slow
tests, with TensorFlow hidden in another); TensorBoard's own reader finds every image and scalar
at its step; the callbacks leave training as it was; the run folder keeps the epochs whole across
a resume."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from nnvisual.errors import UserError
from nnvisual.testing.run_files import read_manifest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["gradcam", "integrated-gradients", "smoothgrad"]  # smoothgrad: seeded noise


def scenario(folder: Path) -> dict:
    """Two epochs of a small CNN with both callbacks: the maps each epoch wrote against
    ``nv.attribute`` on that epoch's weights, and what TensorBoard's reader finds. Runs on the
    backend of the process (this file's tests, and a JAX process with TensorFlow hidden)."""
    import nnvisual as nv
    from nnvisual.testing.models import small_cnn

    keras.utils.set_random_seed(0) if keras.backend.backend() == "tensorflow" else None
    model = small_cnn(size=16)
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 255, (24, 16, 16, 3)).astype("float32"), rng.integers(0, 3, 24)
    images = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    settings = {"steps": 4, "samples": 3, "seed": 7}
    explain = nv.callbacks.Attributions(images, METHODS, out=folder / "maps", tensorboard=folder / "tb",
                                        **settings)
    visualize = nv.callbacks.FeatureVisualizations([1, "channel:c2:0"], every=2, steps=3,
                                                   out=folder / "fv", tensorboard=folder / "tb")
    weights = {}
    snapshot = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: weights.__setitem__(epoch + 1, model.get_weights()))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[explain, visualize, snapshot])

    equal = {}
    twin = small_cnn(size=16)
    for epoch, kept in weights.items():
        twin.set_weights(kept)
        expected = nv.attribute(twin, images, methods=METHODS, **settings)
        written = np.load(folder / "maps" / f"epoch-{epoch:03d}.npz")
        equal[epoch] = {m: bool(np.array_equal(written[m], expected.maps[m])
                                and written[m].dtype == expected.maps[m].dtype) for m in METHODS}
    return {"equal": equal, "board": read_board(folder / "tb"), "scalars": explain.scalars,
            "files": sorted(str(p.relative_to(folder)) for p in folder.rglob("*.png")),
            "tensorflow": sorted(m for m in sys.modules if m == "tensorflow")}


def read_board(logdir: Path) -> dict:
    """Every image and scalar tag in ``logdir`` with its steps, read by TensorBoard's own
    reader (one accumulator per event file: each callback writes its own)."""
    from tensorboard.backend.event_processing import event_accumulator

    found = {}
    for events in sorted(logdir.glob("events.out.tfevents.*")):
        reader = event_accumulator.EventAccumulator(str(events), size_guidance={
            event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0})
        reader.Reload()
        for tag in reader.Tags()["images"]:
            shown = reader.Images(tag)
            assert all(image.encoded_image_string[:4] == b"\x89PNG" for image in shown)
            found[f"image {tag}"] = [image.step for image in shown]
        for tag in reader.Tags()["scalars"]:
            found[f"scalar {tag}"] = [event.step for event in reader.Scalars(tag)]
    return found


def check_scenario(found: dict) -> None:
    assert found["equal"] == {1: dict.fromkeys(METHODS, True), 2: dict.fromkeys(METHODS, True)}
    assert found["board"] == {
        "image attributions": [1, 2],
        **{f"scalar attributions/similarity/{method}": [2] for method in METHODS},
        "image feature_visualizations": [2],  # every=2
        "scalar feature_visualizations/objective/1": [2],
        "scalar feature_visualizations/objective/channel:c2:0": [2]}
    assert found["files"] == ["fv/epoch-002.png", "maps/epoch-001.png", "maps/epoch-002.png"]
    similarity = found["scalars"]["2"] if "2" in found["scalars"] else found["scalars"][2]
    assert all(-1 <= value <= 1 for value in similarity.values())


def test_maps_written_each_epoch_are_nv_attribute_on_that_epochs_weights_on_tensorflow(tmp_path):
    pytest.importorskip("tensorboard")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("this process's backend is not TensorFlow (JAX runs in the test below)")
    check_scenario(scenario(tmp_path))


@pytest.mark.parametrize("backend", ["jax", pytest.param("torch", marks=pytest.mark.slow)])
def test_the_same_with_tensorflow_hidden(tmp_path, backend):
    pytest.importorskip("tensorboard")
    pytest.importorskip(backend)
    inherited = [path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path]
    env = dict(os.environ, KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="", PYTHONPATH=os.pathsep.join(
        [str(ROOT / "tests" / "no_tensorflow"), str(ROOT), *inherited]))
    code = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from tests.test_callbacks import scenario
        print(json.dumps(scenario(Path("."))))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["equal"] = {int(k): v for k, v in found["equal"].items()}
    assert found["tensorflow"] == []
    check_scenario(found)


def test_user_errors_are_one_line_before_training(tmp_path, monkeypatch):
    import nnvisual as nv

    images = np.zeros((2, 8, 8, 3), np.uint8)
    cases = [
        (lambda: nv.callbacks.Attributions(tmp_path / "nowhere"), "nowhere"),
        (lambda: nv.callbacks.Attributions(images, ["nope"]), "unknown method 'nope'"),
        (lambda: nv.callbacks.Attributions(images, every=0), "every=0 must be a whole number"),
        (lambda: nv.callbacks.FeatureVisualizations([]), "at least one objective"),
        (lambda: nv.callbacks.FeatureVisualizations(1, retrain_on="x"), "retrain_on"),
        (lambda: nv.train(explain="images"), 'explain= is the train command'),
    ]
    for make, message in cases:
        with pytest.raises(UserError, match=message) as raised:
            make()
        assert "\n" not in str(raised.value)
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    with pytest.raises(UserError, match=r"pip install 'nnvisual\[tensorboard\]'"):
        nv.callbacks.Attributions(images, tensorboard=tmp_path / "tb")
    assert not list(tmp_path.iterdir())  # nothing written


def test_train_explain_errors_are_one_line_before_the_run_folder(cli, image_folder, isolated, monkeypatch):
    cases = [
        (("--explain", isolated / "nowhere"), "nowhere"),
        (("--explain", image_folder / "test" / "cat", "--explain-methods", "gradcam,nope"),
         "unknown explain_methods 'nope'"),
        (("--explain", image_folder / "test" / "cat", "--explain-every", "0"),
         "explain_every must be at least 1"),
    ]
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    cases.append((("--tensorboard",), "--tensorboard) need the tensorboard package"))
    for args, message in cases:
        result = cli("train", "--data", image_folder, "--epochs", "1", *args, "--out", "run")
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and result.output.count("\n") == 1, result.output
        assert not (isolated / "run").exists()


def weights_of(run: Path) -> list[np.ndarray]:
    return keras.models.load_model(run / "model.keras").get_weights()


def test_explain_leaves_training_as_it_was(cli, image_folder, isolated):
    """Under --deterministic, the weights after two epochs with and without --explain (and
    --tensorboard) are the same."""
    common = ["train", "--data", image_folder, "--epochs", "2", "--batch-size", "8", "--deterministic"]
    extra = ["--explain", image_folder / "test" / "cat", "--explain-methods", "gradcam,saliency"]
    if _has_tensorboard():
        extra.append("--tensorboard")
    for name, args in (("plain", []), ("explained", extra)):
        result = cli(*common, *args, "--out", name)
        assert result.exit_code == 0, result.output
    explained = read_manifest(isolated / "explained")
    assert {"figures/explain/epoch-001.png", "figures/explain/epoch-002.png"} <= set(explained["outputs"])
    if _has_tensorboard():
        board = read_board(isolated / "explained" / "tensorboard")
        assert board["image attributions"] == board["scalar epoch/val_loss"] == [1, 2]
        assert board["scalar attributions/similarity/saliency"] == [2]
        assert any(name.startswith("tensorboard/events.out.tfevents.") for name in explained["outputs"])
    for before, after in zip(weights_of(isolated / "plain"), weights_of(isolated / "explained"), strict=True):
        assert np.array_equal(before, after)


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def test_resume_keeps_the_explained_epochs_whole(cli, image_folder, isolated, monkeypatch):
    """A run stopped after the checkpoint of epoch 2 of 3, resumed: epochs 1-2's figures are
    kept as they were, epoch 3's is added, all recorded with their sha256; the report shows
    them as one strip."""
    from nnvisual.commands import checkpoints
    from nnvisual.runtime.interrupts import Interrupted

    save = checkpoints.save

    def save_then_stop(run, model, epochs_done, history):
        save(run, model, epochs_done, history)
        if epochs_done == 2:
            raise Interrupted("SIGINT")

    explain = ["--explain", image_folder / "test" / "dog", "--explain-every", "1"]
    monkeypatch.setattr(checkpoints, "save", save_then_stop)
    result = cli("train", "--data", image_folder, "--epochs", "3", "--batch-size", "8", *explain,
                 "--out", "run")  # early stopping's patience (3) cannot stop it before epoch 4
    assert result.exit_code == 130, result.output
    run = isolated / "run"
    figures = run / "figures" / "explain"
    assert sorted(p.name for p in figures.iterdir()) == ["epoch-001.png", "epoch-002.png"]
    before = {p.name: p.read_bytes() for p in figures.iterdir()}
    monkeypatch.setattr(checkpoints, "save", save)
    result = cli("train", "--resume", run)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in figures.iterdir()) == ["epoch-001.png", "epoch-002.png", "epoch-003.png"]
    assert all((figures / name).read_bytes() == data for name, data in before.items())
    manifest = read_manifest(run)
    assert manifest["status"] == "complete" and manifest["epochs_done"] == 3
    for epoch in (1, 2, 3):
        for name in (f"figures/explain/epoch-{epoch:03d}.png", f"explain/epoch-{epoch:03d}.npz"):
            assert len(manifest["outputs"][name]) == 64, name
    result = cli("report", run, "--out", "report")
    assert result.exit_code == 0, result.output
    markdown = (isolated / "report" / "report.md").read_text()
    strip = next(line for line in markdown.splitlines() if "epoch-001.png" in line)
    assert strip.count("<img") == 3 and "figures/explain/: epoch-001 to epoch-003" in markdown
