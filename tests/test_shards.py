"""``--shard I/N`` and ``nnvisual merge``: the blocks, the merged top-9, sharded +
merged runs equal to the unsharded run, the streamed top-9 scan, and every bad input.

"Byte for byte" (docs/distributed.md, "Sharded scans"): the merged run's CSV tables, .npz
archives and config.yaml are the unsharded run's files, byte for byte (zipfile stamps the members
of an .npz 1980-01-01, not the time of writing).
"""

import json

import numpy as np
import pytest

from nnvisual import data
from nnvisual.config import DeconvConfig
from nnvisual.data import streaming
from nnvisual.deconv.projector import TopCandidates, merge_top
from nnvisual.errors import UserError
from nnvisual.runtime import shards
from nnvisual.steps import deconv as deconv_step
from nnvisual.testing.images import write_image_folder
from nnvisual.testing.models import loaded_two_conv, small_cnn
from nnvisual.testing.run_files import flip_byte, read_manifest

IMAGE = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)  # deconv's input

# -- the blocks ------------------------------------------------------------------------------------
def test_a_shard_is_I_of_N():
    assert shards.parse("1/4") == shards.Shard(1, 4) and str(shards.parse(" 0/1 ")) == "0/1"


@pytest.mark.parametrize("spec, message", [
    ("3/2", "the index must be below the number of shards"),
    ("2/2", "the index must be below the number of shards"),
    ("0/0", "the number of shards must be at least 1"),
    ("x", "is not I/N"), ("1/2/3", "is not I/N"), ("-1/2", "is not I/N"), ("", "is not I/N"),
])
def test_a_bad_shard_is_refused(spec, message):
    with pytest.raises(UserError, match=message):
        shards.parse(spec)


def test_blocks_are_contiguous_whole_batches():
    # 10 images in batches of 3 make 4 batches, [0-2] [3-5] [6-8] [9]
    assert shards.block(10, None, 3) == range(10)
    assert [shards.block(10, f"{i}/2", 3) for i in range(2)] == [range(0, 6), range(6, 10)]
    # shard i takes batches floor(4i/3) .. floor(4(i+1)/3) - 1: [0], [1], [2, 3]
    assert [shards.block(10, f"{i}/3", 3) for i in range(3)] == [range(0, 3), range(3, 6),
                                                                range(6, 10)]
    assert shards.block(10, "3/4", 3) == range(9, 10)
    with pytest.raises(UserError, match="10 images make 4 batches of 3, too few for 5 shards"):
        shards.block(10, "0/5", 3)


@pytest.mark.parametrize("specs, message", [
    (["0/3", "2/3"], "missing shard 1/3"),
    (["1/2"], "missing shard 0/2"),
    (["0/2", "1/2", "0/2"], "shard 0/2 is given more than once"),
    (["0/2", "1/3"], "shards of different splits"),
])
def test_an_incomplete_set_of_shards_is_refused(specs, message):
    with pytest.raises(UserError, match=message):
        shards.check_complete(specs)
    assert shards.check_complete(["1/3", "0/3", "2/3"]) == 3


# -- the merged top-9 --------------------------------------------------------------------------------
def test_merging_the_parts_keeps_what_one_sort_of_all_images_keeps():
    rng = np.random.default_rng(0)
    activations = rng.integers(0, 6, (3, 40)).astype(np.float32)  # many ties
    positions = rng.integers(0, 5, (3, 40, 2))
    parts = [TopCandidates("x", np.arange(3), np.broadcast_to(np.arange(a, b), (3, b - a)),
                           activations[:, a:b], positions[:, a:b]) for a, b in [(0, 7), (7, 30), (30, 40)]]
    for order in ([0, 1, 2], [2, 0, 1]):
        merged = merge_top([parts[i] for i in order], 9)
        expected = np.argsort(-activations, axis=1, kind="stable")[:, :9]  # ties: earlier first
        np.testing.assert_array_equal(merged.indices, expected)
        np.testing.assert_array_equal(merged.activations, np.take_along_axis(activations, expected, 1))
        np.testing.assert_array_equal(merged.positions, positions[np.arange(3)[:, None], expected])


# -- the streamed scan ---------------------------------------------------------------------------------
def test_the_streamed_scan_equals_the_in_memory_scan_and_decodes_a_batch_at_a_time(tmp_path,
                                                                                     monkeypatch):
    folder = write_image_folder(tmp_path / "data", per_class=(2, 3))
    config = DeconvConfig(layers=("a", "b"), top_k=2, top9=True, top9_images=9)
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)
    in_memory = deconv_step.project(deconv_step.prepare(
        loaded_two_conv(), config, IMAGE, "img", data.load_image_folder(folder)), config)
    decoded, decode = [], streaming.decode
    monkeypatch.setattr(streaming, "decode", lambda files: decoded.append(len(files)) or decode(files))
    dataset, streamed = streaming.open_dataset(str(folder), "none", 0)
    assert streamed and isinstance(dataset.x_test, streaming.ImageFiles)
    streamed = deconv_step.project(
        deconv_step.prepare(loaded_two_conv(), config, IMAGE, "img", dataset), config)
    assert decoded[:3] == [4, 4, 1]  # the scan: 9 images, 4 at a time, each once
    for got, want in zip(streamed.top9, in_memory.top9, strict=True):
        for part in ("channels", "indices", "activations", "positions", "boxes", "projections"):
            np.testing.assert_array_equal(getattr(got, part), getattr(want, part))
        np.testing.assert_array_equal(streamed.top9_shown[got.layer], in_memory.top9_shown[got.layer])


# -- sharded + merged runs equal the unsharded run ------------------------------------------------------
def same_files(merged, unsharded, names):
    for name in names:
        assert (merged / name).read_bytes() == (unsharded / name).read_bytes(), name


@pytest.fixture
def cnn(tmp_path):
    path = tmp_path / "cnn.keras"
    small_cnn(size=32).save(path)
    return path


def test_sharded_and_merged_deconv_equals_the_unsharded_run(cli, cnn, tmp_path, monkeypatch):
    folder = write_image_folder(tmp_path / "data", per_class=(2, 10))
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 4)  # 30 test images: 8 batches
    run = ("deconv", "--model", cnn, "--layers", "c1,c2", "--top-k", "1", "--top9",
           "--top9-images", "30", "--data", folder)
    assert cli(*run, "--out", "whole").exit_code == 0
    for i in range(3):
        result = cli(*run, "--shard", f"{i}/3", "--out", f"shard{i}")
        assert result.exit_code == 0, result.output
    manifest = read_manifest(tmp_path / "shard1")
    assert manifest["scanned"] == [8, 20] and manifest["config"]["shard"] == "1/3"
    assert not (tmp_path / "shard1" / "tables" / "top9.csv").exists()  # a shard only scans
    result = cli("merge", "shard2", "shard0", "shard1", "--out", "merged")
    assert result.exit_code == 0, result.output
    same_files(tmp_path / "merged", tmp_path / "whole",
               ["tables/channels.csv", "tables/top9.csv", "projections.npz", "config.yaml"])
    for figure in ("overview", "c1", "c2", "top9_c1", "top9_c2"):  # the same step draws them
        name = f"figures/{figure}.png"
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    merged = read_manifest(tmp_path / "merged")
    assert merged["command"] == "deconv" and merged["config"]["shard"] is None
    assert merged["status"] == "complete" and len(merged["merged"]) == 3


def test_sharded_and_merged_attribute_equals_the_unsharded_run(cli, cnn, tmp_path):
    write_image_folder(tmp_path / "data", per_class=(6, 0))
    photos = tmp_path / "data" / "train" / "dog"
    (photos / "notes.txt").write_text("not an image")  # set aside, reported by every shard
    run = ("attribute", "--model", cnn, "--images", photos, "--batch-size", "2", "--method",
           "integrated-gradients,gradcam", "--baseline", "noise", "--steps", "2")
    assert cli(*run, "--out", "whole").exit_code == 0
    for i in range(2):  # 6 images, 3 batches: [0-1] and [2-5]
        assert cli(*run, "--shard", f"{i}/2", "--out", f"shard{i}").exit_code == 0
    result = cli("merge", "shard0", "shard1", "--out", "merged")
    assert result.exit_code == 0, result.output
    same_files(tmp_path / "merged", tmp_path / "whole",
               ["tables/attributions.csv", "attributions.npz", "config.yaml"])
    names = sorted(path.name for path in photos.glob("*.png"))
    for figure in [f"figures/{name}.png" for name in names] + ["figures/grid.png"]:
        np.testing.assert_array_equal(data.read_image(tmp_path / "merged" / figure),
                                      data.read_image(tmp_path / "whole" / figure))
    merged = read_manifest(tmp_path / "merged")
    whole = read_manifest(tmp_path / "whole")
    assert merged["skipped"] == whole["skipped"] == ["notes.txt"]
    assert merged["cam_layer"] == whole["cam_layer"]


def test_a_shard_changed_since_its_run_stops_the_merge_with_one_line(cli, cnn, tmp_path):
    import shutil

    write_image_folder(tmp_path / "data", per_class=(4, 0))
    photos = tmp_path / "data" / "train" / "dog"
    run = ("attribute", "--model", cnn, "--images", photos, "--batch-size", "2", "--method",
           "saliency")
    for i in range(2):
        assert cli(*run, "--shard", f"{i}/2", "--out", f"shard{i}").exit_code == 0
    figure = f"figures/{sorted(p.name for p in photos.glob('*.png'))[-1]}.png"  # shard 1's last
    for damage, relative, message in [
            ("flip", "attributions.npz", "does not match the sha256 its run recorded"),
            ("flip", "tables/attributions.csv", "does not match the sha256 its run recorded"),
            ("flip", figure, "does not match the sha256 its run recorded"),
            ("delete", figure, "is missing"),
            ("delete", "attributions.npz", "is missing")]:
        shutil.rmtree(tmp_path / "damaged", ignore_errors=True)
        shutil.copytree(tmp_path / "shard1", tmp_path / "damaged")
        if damage == "flip":
            flip_byte(tmp_path / "damaged" / relative)
        else:
            (tmp_path / "damaged" / relative).unlink()
        refused(cli("merge", "shard0", "damaged", "--out", tmp_path / "out"),
                f"damaged/{relative} {message}: the run folder damaged changed after it was "
                "written", tmp_path)
    assert cli("merge", "shard0", "shard1", "--out", tmp_path / "out").exit_code == 0  # untouched


def test_a_deconv_shards_scan_changed_since_its_run_stops_the_merge(cli, cnn, tmp_path):
    folder = write_image_folder(tmp_path / "data", per_class=(2, 44))  # 132 test images: 3 batches
    run = ("deconv", "--model", cnn, "--layers", "c1", "--top-k", "1", "--top9",
           "--top9-images", "130", "--data", folder)
    for i in range(2):
        assert cli(*run, "--shard", f"{i}/2", "--out", f"shard{i}").exit_code == 0
    flip_byte(tmp_path / "shard1" / "top9_scan.npz")
    refused(cli("merge", "shard0", "shard1", "--out", tmp_path / "out"),
            "shard1/top9_scan.npz does not match the sha256 its run recorded", tmp_path)


# -- bad inputs: one line, exit 2, nothing written ----------------------------------------------------
def fake_run(path, command="deconv", shard="0/2", status="complete", backend="tensorflow",
             **config):
    """A run folder as the merge reads it: its manifest only."""
    path.mkdir()
    manifest = {"command": command, "status": status, "data": "cifar10", "backend": backend,
                "config": {"model": "vgg16", "top_k": 8, "top9": True, "shard": shard, **config}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def refused(result, message, tmp_path):
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("spec, message", [
    ("3/2", "the index must be below the number of shards"),
    ("0/0", "the number of shards must be at least 1"),
    ("x", "shard 'x' is not I/N"),
])
@pytest.mark.parametrize("command", ["deconv", "attribute"])
def test_a_bad_shard_option_is_one_line(cli, tmp_path, command, spec, message):
    extra = ("--top9",) if command == "deconv" else ("--images", tmp_path)
    refused(cli(command, "--model", tmp_path / "none.keras", *extra, "--shard", spec,
                "--out", tmp_path / "out"), message, tmp_path)


def test_a_shard_without_top9_is_refused(cli, tmp_path):
    refused(cli("deconv", "--shard", "0/2", "--out", tmp_path / "out"),
            "shard splits the top-9 scan: give --top9", tmp_path)


def test_a_shard_block_without_a_batch_is_refused(cli, cnn, tmp_path):
    folder = write_image_folder(tmp_path / "data", per_class=(2, 4))  # 12 test images: 1 batch
    refused(cli("deconv", "--model", cnn, "--layers", "c1", "--top9", "--top9-images", "12",
                "--data", folder, "--shard", "1/2", "--out", tmp_path / "out"),
            "12 images make 1 batches of 64, too few for 2 shards", tmp_path)


@pytest.mark.parametrize("runs, message", [
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", "attribute", "1/2")],
     "cannot merge a 'deconv' run"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", shard="1/2", top_k=4)],
     "differ in 'top_k' (8 vs 4)"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", shard="1/3")], "shards of different splits"),
    (lambda t: [fake_run(t / "a", shard="0/3"), fake_run(t / "b", shard="2/3")], "missing shard 1/3"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b"), fake_run(t / "c", shard="1/2")],
     "shard 0/2 is given more than once"),
    (lambda t: [fake_run(t / "a"), (t / "b").mkdir() or t / "b"], "is not a run folder"),
    (lambda t: [fake_run(t / "a"), t / "nowhere"], "is not a run folder"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", shard="1/2", status="running")],
     "is an incomplete 'deconv' run (status: running)"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", shard=None)], "is not a shard run"),
    (lambda t: [fake_run(t / "a", "train"), fake_run(t / "b", "train", "1/2")],
     "is a 'train' run: only deconv --top9, attribute and atlas runs have shards"),
    (lambda t: [fake_run(t / "a"), fake_run(t / "b", shard="1/2", backend="jax")],
     "differ in 'backend' ('tensorflow' vs 'jax')"),
    (lambda t: [fake_run(t / "a", backend="torch"), fake_run(t / "b", shard="1/2", backend="torch")],
     "the shards ran on torch: merge them there too"),
])
def test_merging_a_bad_set_of_runs_is_one_line(cli, tmp_path, runs, message):
    refused(cli("merge", *runs(tmp_path), "--out", tmp_path / "out"), message, tmp_path)
