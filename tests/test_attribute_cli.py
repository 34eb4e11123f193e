"""``nnvisual attribute`` end to end on a tiny saved model, and its refusals."""

import numpy as np
import pytest

from nnvisual.testing.run_files import read_csv, read_manifest


def test_attribute_writes_maps_table_and_figures(cli, tiny_cnn, photos, tmp_path):
    (photos / "notes.txt").write_text("not an image")
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, "--method",
                 "saliency,gradcam,occlusion", "--batch-size", 4, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "skipped notes.txt" in result.output and "skipped 1 of 7 files" in result.output
    rows = read_csv(tmp_path / "run" / "tables" / "attributions.csv")
    assert len(rows) == 6 * 3
    assert {row["method"] for row in rows} == {"saliency", "gradcam", "occlusion"}
    assert all(0 < float(row["probability"]) <= 1 for row in rows)
    arrays = np.load(tmp_path / "run" / "attributions.npz")
    assert arrays["saliency"].shape == arrays["gradcam"].shape == (6, 32, 32)
    assert list(arrays["images"]) == sorted(p.name for p in photos.glob("*.png"))
    figures = sorted(p.name for p in (tmp_path / "run" / "figures").iterdir())
    assert "grid.png" in figures and len(figures) == 7
    manifest = read_manifest(tmp_path / "run")
    assert manifest["status"] == "complete" and manifest["cam_layer"] == "c2"  # the last 4-D map
    assert manifest["skipped"] == ["notes.txt"]


@pytest.mark.parametrize(("args", "message"), [
    (("--method", "nope"), "unknown method 'nope'"),
    (("--class", "7"), "class 7 is out of range"),
    (("--class", "zebra"), "'zebra' is ImageNet class 340"),
    (("--method", "gradcam", "--layer", "flat"), "a Flatten with a 2-D output, not a feature map"),
    (("--method", "integrated-gradients", "--steps", "0"), "steps must be at least 1"),
    (("--method", "occlusion", "--window", "64"), "larger than the image"),
])
def test_attribute_refuses_bad_inputs_in_one_line(cli, tiny_cnn, photos, tmp_path, args, message):
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, *args,
                 "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_attribute_refuses_empty_and_unreadable_folders(cli, tiny_cnn, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("attribute", "--model", tiny_cnn, "--images", empty, "--out", tmp_path / "run")
    assert result.exit_code == 2 and "the folder is empty" in result.output
    (empty / "a.jpg").write_text("not a jpeg")
    result = cli("attribute", "--model", tiny_cnn, "--images", empty, "--out", tmp_path / "run")
    assert result.exit_code == 2 and "no readable images" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_attribute_runs_every_method_on_plotka(cli, tiny_plotka, photos, tmp_path):
    from nnvisual.attribution.methods import METHODS

    # every method but those of transformers, which refuse plotka (tests/test_vit.py)
    cnn_methods = [name for name, row in METHODS.items() if not row.reads_attention]
    result = cli("attribute", "--model", tiny_plotka, "--images", photos, "--method",
                 ",".join(cnn_methods), "--samples", 3, "--steps", 8, "--background-size", 2,
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    arrays = np.load(tmp_path / "run" / "attributions.npz")
    for method in cnn_methods:
        assert arrays[method].shape == (6, 32, 32) and np.isfinite(arrays[method]).all()
        assert np.abs(arrays[method]).max() > 0, method
    assert read_manifest(tmp_path / "run")["cam_layer"] == "pool3"


# -- bounded memory: the maps go to the disk batch by batch ------------------------------------
def synthetic_batches(count, size=4, side=128, methods=("saliency", "gradcam")):
    """``count`` batches of ``size`` images with random maps, as ``step.attribute_batches``
    yields them: one at a time."""
    from nnvisual.steps.attribute import AttributionBatch

    rng = np.random.default_rng(count)
    for b in range(count):
        yield AttributionBatch(tuple(f"image{b * size + i:04d}.png" for i in range(size)),
                               np.zeros((size, 8, 8, 3), np.uint8), np.zeros(size, int),
                               np.full(size, 0.5), {m: rng.normal(size=(size, side, side)).astype(np.float32)
                                                    for m in methods}, ())


def write_synthetic_run(tmp_path, monkeypatch, count):
    """The writer the command streams its batches through (``api.write_run``), given ``count``
    synthetic batches one at a time (figures stubbed out), with tracemalloc's peak of the
    allocations it made: ``(run folder, peak bytes)``."""
    import tracemalloc
    from types import SimpleNamespace

    from nnvisual import runs
    from nnvisual.api import _attribute as api
    from nnvisual.config import AttributeConfig
    from nnvisual.plots import attribution as plots

    monkeypatch.setattr(plots, "image_figure", lambda *args: None)
    monkeypatch.setattr(plots, "grid_figure", lambda *args: None)
    monkeypatch.setattr(runs.Run, "write_figure", lambda self, relative, figure: None)
    config = AttributeConfig(methods=("saliency", "gradcam"))
    head = SimpleNamespace(described=lambda: "scores: the output of 'logits'")
    inputs = SimpleNamespace(settings=SimpleNamespace(layer="c2"), skipped=(),
                             loaded=SimpleNamespace(class_names=["a"]),
                             network=SimpleNamespace(head=head))
    run = runs.create_run("attribute", "synthetic", {}, tmp_path / f"run{count}")
    tracemalloc.start()
    try:
        api.write_run(run, inputs, config, synthetic_batches(count))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return run.path, peak


def test_the_maps_file_is_what_writing_them_at_once_gave(tmp_path, monkeypatch):
    """Assembled from the disk, attributions.npz has the members ``np.savez_compressed`` writes
    for the concatenated maps (same bytes: same CRC and compressed size), and no parts remain."""
    import io
    import zipfile

    path, _ = write_synthetic_run(tmp_path, monkeypatch, 5)
    batches = list(synthetic_batches(5))
    expected = {"images": np.array([name for b in batches for name in b.names])}
    expected.update({m: np.concatenate([b.maps[m] for b in batches]) for m in ("saliency", "gradcam")})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **expected)
    members = [(i.filename, i.CRC, i.compress_size, i.file_size)
               for i in zipfile.ZipFile(path / "attributions.npz").infolist()]
    assert members == [(i.filename, i.CRC, i.compress_size, i.file_size)
                       for i in zipfile.ZipFile(buffer).infolist()]
    arrays = np.load(path / "attributions.npz")
    assert all(np.array_equal(arrays[name], value) for name, value in expected.items())
    assert sorted(p.name for p in path.iterdir()) == ["attributions.npz", "config.yaml", "manifest.json",
                                                      "tables"]


def test_the_maps_are_not_kept_in_memory(tmp_path, monkeypatch):
    """Six times the batches (10 MiB more maps) raise the peak of the command's allocations by
    less than one batch's maps (2 x 4 x 128 x 128 float32 = 512 KiB)."""
    _, few = write_synthetic_run(tmp_path, monkeypatch, 4)
    _, many = write_synthetic_run(tmp_path, monkeypatch, 24)
    assert many - few < 2 * 4 * 128 * 128 * 4


def test_the_default_model_needs_no_download(cli, tmp_path, monkeypatch):
    """Without --model, attribute explains with EfficientNet-Lite0, whose weights ship with
    nnvisual: no network is needed (VGG16's download would fail here)."""
    import cv2
    from keras.applications import vgg16

    def offline(**kwargs):
        raise OSError("no network")

    monkeypatch.setattr(vgg16, "VGG16", offline)
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((40, 50, 3), 120, np.uint8))
    result = cli("attribute", "--images", tmp_path / "photo.png", "--method", "saliency",
                 "--out", "run")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(tmp_path / "run")
    assert manifest["config"]["model"] == "efficientnet-lite0"
    assert read_csv(tmp_path / "run" / "tables" / "attributions.csv")[0]["image"] == "photo.png"
