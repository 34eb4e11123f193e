"""Data loading: image folders (with the decode cache), single images, subsets, offline errors."""

import cv2
import numpy as np
import pytest

from nnvisual import data
from nnvisual.errors import UserError
from nnvisual.runtime.cache import cache_dir


def test_image_folder_loads_sorted_classes_and_labels(image_folder):
    dataset = data.load_image_folder(image_folder)
    assert dataset.class_names == ("cat", "dog", "frog")
    assert dataset.x_train.shape == (36, 32, 32, 3) and dataset.x_train.dtype == np.uint8
    assert dataset.x_test.shape == (12, 32, 32, 3)
    assert np.bincount(dataset.y_train).tolist() == [12, 12, 12]
    # class k has its bright square in channel k % 3 (BGR on disk -> RGB in memory)
    first_dog = dataset.x_train[dataset.y_train == 1][0]
    bgr_channel = 1
    assert first_dog[:16, 16:, 2 - bgr_channel].mean() == 230


def test_decode_cache_is_reused_and_invalidated(image_folder, monkeypatch):
    first = data.load_image_folder(image_folder)
    assert list((cache_dir() / "datasets").glob("*.npz"))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr("nnvisual.data.datasets.read_images", no_decoding)
    again = data.load_image_folder(image_folder)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    monkeypatch.undo()
    cv2.imwrite(str(image_folder / "train" / "cat" / "extra.png"), np.zeros((32, 32, 3), np.uint8))
    assert len(data.load_image_folder(image_folder).x_train) == 37


def test_env_variable_names_the_data(image_folder, monkeypatch):
    monkeypatch.setenv("NNVISUAL_DATA", str(image_folder))
    assert data.resolve_source(None) == str(image_folder)
    assert data.resolve_source("cifar10") == "cifar10"
    assert data.load_dataset().class_names == ("cat", "dog", "frog")


def test_offline_without_data_says_what_to_download_and_how_to_lay_it_out(monkeypatch, tmp_path):
    import keras

    def offline():
        raise OSError("no network")

    monkeypatch.delenv("NNVISUAL_DATA", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(UserError) as error:
        data.load_dataset()
    message = str(error.value)
    assert message.startswith("CIFAR-10 could not be downloaded (OSError); download the official "
                              "archive https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and "
                              'give the file itself (data="cifar-10-python.tar.gz", or NNVISUAL_DATA=')
    assert 'data="DIR", with DIR/{train,test}/<class>/*.jpg|png' in message
    assert "unpack-cifar10" not in message and "\n" not in message
    with pytest.raises(UserError, match="data folder not found: .*download the official archive"):
        data.load_dataset(str(tmp_path / "absent"))


@pytest.mark.parametrize("layout, message", [("missing", "data folder not found"),
                                             ("no-splits", "must contain train/<class>/"),
                                             ("empty", "no class folders")])
def test_bad_data_folders(tmp_path, layout, message):
    root = tmp_path / "d"
    if layout != "missing":
        root.mkdir()
    if layout == "empty":
        (root / "train").mkdir()
        (root / "test").mkdir()
    with pytest.raises(UserError, match=message):
        data.load_image_folder(root)


def test_a_data_file_is_read_as_the_archive_when_named_like_one(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "cifar10.tgz").write_bytes(b"not the archive")
    with pytest.raises(UserError, match="must be a folder .* or the archive cifar-10-python.tar.gz, got"):
        data.load_dataset(str(tmp_path / "notes.txt"))
    with pytest.raises(UserError, match="cifar10.tgz is not the official CIFAR-10 archive: its sha256 is"):
        data.load_dataset(str(tmp_path / "cifar10.tgz"))


def test_read_image_converts_grey_rgba_and_16_bit(tmp_path):
    grey = np.full((5, 7), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 0] = 255  # blue
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    deep = np.full((3, 3, 3), 65535, np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert data.read_image(tmp_path / "grey.png").shape == (5, 7, 3)
    assert data.read_image(tmp_path / "rgba.png")[0, 0].tolist() == [0, 0, 255]
    assert data.read_image(tmp_path / "deep.png").max() == 255


@pytest.mark.parametrize("content", [b"", b"not an image at all", None])
def test_read_image_refuses_broken_files(tmp_path, content):
    path = tmp_path / "broken.png"
    if content is None:  # a truncated PNG
        ok, encoded = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
        content = encoded.tobytes()[:100]
    path.write_bytes(content)
    with pytest.raises(UserError, match="cannot read"):
        data.read_image(path)
    with pytest.raises(UserError, match="not found"):
        data.read_image(tmp_path / "absent.png")
    with pytest.raises(UserError, match="folder"):
        data.read_image(tmp_path)


def test_stratified_subset_keeps_proportions():
    labels = np.repeat([0, 1, 2], [600, 300, 100])
    picked = data.stratified_subset(labels, 100, seed=0)
    assert len(picked) == 100 and len(set(picked)) == 100
    assert np.bincount(labels[picked]).tolist() == [60, 30, 10]
    np.testing.assert_array_equal(picked, data.stratified_subset(labels, 100, seed=0))


def test_image_source_from_dataset_class_and_folder(image_folder, tmp_path):
    images, names = data.load_image_source("cifar10:dog", str(image_folder))
    assert images.shape == (4, 32, 32, 3) and names[0].startswith("test/dog/")
    images, _ = data.load_image_source("cifar10-train:frog", str(image_folder), size=(16, 16))
    assert images.shape == (12, 16, 16, 3)
    images, names = data.load_image_source(str(image_folder / "test" / "cat"))
    assert len(images) == 4 and names == ["0000.png", "0001.png", "0002.png", "0003.png"]
    with pytest.raises(UserError, match="unknown class 'cow'"):
        data.load_image_source("cifar10:cow", str(image_folder))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        data.load_image_source(str(tmp_path / "empty"))
