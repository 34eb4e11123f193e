"""The controlled localisation benchmark (nnvisual.data.localisation, scripts/localisation.py):
masks where the objects are, backgrounds independent of the class, the metrics' extremes on it,
and the files the script writes."""

import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from nnvisual.data import localisation as loc
from nnvisual.evaluation import localisation as metrics

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "localisation.py"


def _script():
    spec = importlib.util.spec_from_file_location("localisation_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _objects(classes=3, per_class=6, size=8, seed=1):
    """Objects of a constant colour no background has (pure 0/255 channels), per class."""
    labels = np.repeat(np.arange(classes), per_class)
    objects = np.zeros((len(labels), size, size, 3), np.uint8)
    rng = np.random.default_rng(seed)
    objects[:] = rng.choice([0, 255], size=(len(labels), 1, 1, 3))
    return objects, labels


def test_mask_is_exactly_where_the_object_was_pasted():
    objects, labels = _objects()
    made = loc.make_split(objects, labels, per_class=5, split="test", seed=3, size=20,
                          object_size=8)
    assert made.images.shape == (15, 20, 20, 3) and made.masks.shape == (15, 20, 20)
    np.testing.assert_array_equal(made.labels, np.arange(15) % 3)
    for i in range(15):
        row, column = made.corners[i]
        expected = np.zeros((20, 20), bool)
        expected[row:row + 8, column:column + 8] = True
        np.testing.assert_array_equal(made.masks[i], expected)
        # inside: the object, untouched; outside: the background, untouched
        np.testing.assert_array_equal(made.images[i][made.masks[i]].reshape(8, 8, 3),
                                      objects[made.sources[i]])
        np.testing.assert_array_equal(made.images[i][~made.masks[i]],
                                      made.backgrounds[i][~made.masks[i]])
        assert labels[made.sources[i]] == made.labels[i]
    assert len(set(made.sources.tolist())) == 15  # each object used once
    # seeded: the same arrays again; another seed, other backgrounds and places
    again = loc.make_split(objects, labels, 5, "test", seed=3, size=20, object_size=8)
    np.testing.assert_array_equal(again.images, made.images)
    other = loc.make_split(objects, labels, 5, "test", seed=4, size=20, object_size=8)
    assert not np.array_equal(other.backgrounds, made.backgrounds)


def test_backgrounds_do_not_depend_on_the_class():
    # by construction: the background reads only its image's generator, seeded by (seed, split,
    # index), never the class; swapping the objects' classes leaves every background as it was
    assert list(inspect.signature(loc.background).parameters) == ["rng", "size"]
    objects, labels = _objects(classes=4, per_class=5)
    made = loc.make_split(objects, labels, 5, "train", seed=0, size=16, object_size=6)
    relabelled = loc.make_split(objects, (labels + 1) % 4, 5, "train", seed=0, size=16,
                                object_size=6)
    np.testing.assert_array_equal(made.backgrounds, relabelled.backgrounds)
    np.testing.assert_array_equal(made.corners, relabelled.corners)
    for i in range(len(made.labels)):
        np.testing.assert_array_equal(made.backgrounds[i],
                                      loc.background(loc.image_rng(0, "train", i), 16))
    # and in distribution: per-class means and standard deviations of many backgrounds agree
    # within what their spread allows (a class's 100 backgrounds: the mean's standard error)
    many = loc.make_split(*_objects(classes=4, per_class=100), 100, "train", seed=0, size=16,
                          object_size=6)
    pixels = many.backgrounds.reshape(len(many.labels), -1).astype(np.float64)
    per_image = np.stack([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)
    for column in range(2):
        means = [per_image[many.labels == c, column].mean() for c in range(4)]
        error = per_image[:, column].std() / np.sqrt(100)
        assert max(means) - min(means) < 5 * error


def test_a_map_equal_to_the_mask_scores_one_and_a_random_map_the_mask_share():
    objects, labels = _objects(per_class=40)
    made = loc.make_split(objects, labels, 40, "test", seed=0, size=32, object_size=16)
    perfect = SimpleNamespace(maps=made.masks.astype(np.float32), masks=made.masks)
    assert np.all(metrics.pointing_game(perfect) == 1)
    assert np.all(metrics.relevance_mass_accuracy(perfect) == 1)
    assert np.all(metrics.relevance_rank_accuracy(perfect) == 1)
    expected = loc.random_map_expectation(32, 16)
    assert expected == 0.25
    scores = _script().random_map_scores(made.masks, seed=0)
    n = len(made.labels)
    # the pointing game is a Bernoulli(0.25) per image; the other two average many pixels
    assert abs(scores["pointing-game"].mean() - expected) < 4 * np.sqrt(0.25 * 0.75 / n)
    assert abs(scores["relevance-mass-accuracy"].mean() - expected) < 0.01
    assert abs(scores["relevance-rank-accuracy"].mean() - expected) < 0.03


def test_too_few_objects_or_a_bad_size_is_one_line():
    from nnvisual.errors import UserError

    objects, labels = _objects(per_class=2)
    with pytest.raises(UserError, match="class 0 has 2 objects"):
        loc.make_split(objects, labels, 3, "train")
    with pytest.raises(UserError, match="must be at least 2 pixels and fit"):
        loc.make_split(objects, labels, 1, "train", size=8, object_size=16)


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def _cifar_like_folder(root: Path, classes=("cat", "dog", "frog"), per_class=3):
    for split in ("train", "test"):
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                cv2.imwrite(str(root / split / name / f"{i}.png"), np.full((32, 32, 3), 40 * c + i, np.uint8))
    return root


def test_the_script_writes_every_file_and_errors_are_one_line(tmp_path):
    source = _cifar_like_folder(tmp_path / "cifar")
    out = tmp_path / "bench"
    done = _run("data", "--out", str(out), "--per-class", "2", "--test-per-class", "3",
                "--size", "24", "--object-size", "10", "--source", str(source))
    assert done.returncode == 0, done.stderr
    layout = json.loads((out / "layout.json").read_text())
    assert layout["classes"] == ["cat", "dog", "frog"]
    assert layout["counts"] == {"train": 6, "test": 9, "images": 9, "masks": 9, "backgrounds": 9}
    assert sorted(p.name for p in out.iterdir()) == ["backgrounds", "images", "layout.json",
                                                     "masks", "test", "train"]
    assert not (tmp_path / "bench.partial").exists()
    for name in ("cat", "dog", "frog"):
        assert len(list((out / "train" / name).iterdir())) == 2
        assert len(list((out / "test" / name).iterdir())) == 3
        assert len(list((out / "backgrounds" / name).iterdir())) == 3
    images = sorted(p.name for p in (out / "images").iterdir())
    assert images == sorted(p.name for p in (out / "masks").iterdir())
    assert images[:3] == ["00000-cat.png", "00001-dog.png", "00002-frog.png"]
    for name in images:
        label = name[6:-4]
        image = cv2.imread(str(out / "images" / name))
        assert np.array_equal(image, cv2.imread(str(out / "test" / label / name)))
        mask = cv2.imread(str(out / "masks" / name), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) == {0, 255} and (mask > 0).sum() == 100
        rows, columns = np.nonzero(mask)
        assert np.ptp(rows) == np.ptp(columns) == 9  # one 10 x 10 square
        background = cv2.imread(str(out / "backgrounds" / label / name))
        np.testing.assert_array_equal(image[mask == 0], background[mask == 0])
        assert np.all(image[mask > 0] == image[rows[0], columns[0]])  # the flat test object

    again = _run("data", "--out", str(out), "--source", str(source))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.strip().splitlines() == [
        f"Error: {out} exists and is not empty; give --force to replace it"]
    too_many = _run("data", "--out", str(tmp_path / "b2"), "--per-class", "5", "--source",
                    str(source))
    assert too_many.returncode == 2
    assert len(too_many.stderr.strip().splitlines()) == 1
    assert too_many.stderr.startswith("Error: 5 images per class asked for the train split")
    assert not (tmp_path / "b2").exists() and not (tmp_path / "b2.partial").exists()
    missing = _run("data", "--out", str(tmp_path / "b3"), "--source", str(tmp_path / "none"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith(f"Error: data folder not found: {tmp_path / 'none'}")
    assert "(--source DIR, with DIR/{train,test}/<class>/" in missing.stderr
    no_layout = _run("check", "--model", "plotka", "--data", str(source))
    assert no_layout.returncode == 2
    assert no_layout.stderr.strip().splitlines() == [
        f"Error: {source} has no layout.json: give the folder `data` wrote"]


def test_evaluate_reads_the_written_images_and_masks(cli, tiny_cnn, tmp_path):
    """The layout is the one ``evaluate --images --masks`` reads: every image finds its mask,
    and a map's maximum on a flat object is scored against the written square."""
    from nnvisual.testing.run_files import read_csv

    source = _cifar_like_folder(tmp_path / "cifar")
    out = tmp_path / "bench"
    done = _run("data", "--out", str(out), "--per-class", "1", "--test-per-class", "2",
                "--source", str(source))
    assert done.returncode == 0, done.stderr
    result = cli("evaluate", "--model", tiny_cnn, "--images", out / "images", "--masks",
                 out / "masks", "--method", "saliency", "--metric",
                 "pointing-game,relevance-mass-accuracy", "--max-images", 6, "--bootstrap", 100,
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "run" / "tables" / "metrics.csv")
    assert [(r["metric"], r["n"]) for r in rows] == [("pointing-game", "6"),
                                                    ("relevance-mass-accuracy", "6")]
    assert all(0 <= float(r["value"]) <= 1 for r in rows)


def test_background_swap_keeps_what_reads_only_the_object(tmp_path):
    """``check``'s swap: the object's pixels moved onto another image's background. A network
    reading only the object keeps every prediction; one reading the background does not."""
    source = _cifar_like_folder(tmp_path / "cifar")
    out = tmp_path / "bench"
    done = _run("data", "--out", str(out), "--per-class", "1", "--test-per-class", "3",
                "--source", str(source))
    assert done.returncode == 0, done.stderr
    script = _script()
    classes = ["cat", "dog", "frog"]
    masks = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 0
                      for p in sorted((out / "masks").iterdir())])

    def loaded(predict):
        model = SimpleNamespace(predict=lambda x, verbose=0: np.eye(3)[predict(x)])
        return SimpleNamespace(model=model, preprocess=lambda x: x, image_size=(32, 32))

    def object_only(x):  # the flat object's grey level (40 * class + i), where the mask is
        return np.array([int(image[mask].max()) // 40 for image, mask in zip(x, masks, strict=True)])

    agree, correct = script.background_swap(loaded(object_only), out, classes, masks)
    assert agree.tolist() == [1.0] * 9 and correct.tolist() == [1.0] * 9
    corner = lambda x: (x[:, 0, 0, 0] // 86).astype(int)  # noqa: E731 (a pixel the object rarely covers)
    agree, _ = script.background_swap(loaded(corner), out, classes, masks, seed=1)
    assert agree.mean() < 1
