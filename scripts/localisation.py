"""A controlled localisation benchmark for ``nnvisual evaluate`` (docs/evaluation.md, "A
controlled localisation benchmark"): CIFAR-10 objects pasted at random places onto class-neutral
procedural backgrounds, the pasted square as the mask.

    # the image folders (train --data), the masks and images (evaluate --masks, --images)
    python scripts/localisation.py data --out DIR --per-class 500 --test-per-class 50 --seed 0
    nnvisual train --model plotka --data DIR --out RUN ...
    # the network's accuracy on the test images and on their backgrounds alone; the random map
    python scripts/localisation.py check --model RUN --data DIR
    nnvisual evaluate --model RUN --images DIR/images --masks DIR/masks \\
        --metric pointing-game,relevance-mass-accuracy,relevance-rank-accuracy ...

``data`` writes into DIR (refused if DIR holds anything, unless --force), all at once: the files
go to a folder beside it that is renamed to DIR when every one is written::

    DIR/train/<class>/NNNNN-<class>.png     DIR/test/<class>/NNNNN-<class>.png
    DIR/images/NNNNN-<class>.png            the test images again, in one folder (evaluate --images;
                                            sorted by name, the first N hold every class alike)
    DIR/masks/NNNNN-<class>.png             each test image's mask: 255 on the object, 0 elsewhere
    DIR/backgrounds/<class>/NNNNN-<class>.png   each test image's background, without its object
    DIR/layout.json                         the settings and the counts

Errors are one line (``Error: ...``, exit 2).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click
import cv2
import numpy as np

from nnvisual.errors import UserError


def _write_png(path: Path, image: np.ndarray) -> None:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), image):
        raise UserError(f"could not write {path}")


def write_benchmark(out: Path, splits: dict, class_names, settings: dict) -> dict:
    """Write ``splits`` (split -> :class:`nnvisual.data.localisation.LocalisationSet`) into
    ``out`` (which must not exist) in the layout above; returns the counts."""
    counts = {}
    for split, made in splits.items():
        names = [f"{i:05d}-{class_names[label]}.png" for i, label in enumerate(made.labels)]
        folders = [split] + (["images", "masks", "backgrounds"] if split == "test" else [])
        for folder in folders:
            counts[folder] = len(names)
        for name in class_names:
            (out / split / name).mkdir(parents=True)
            if split == "test":
                (out / "backgrounds" / name).mkdir(parents=True)
        if split == "test":
            (out / "images").mkdir()
            (out / "masks").mkdir()
        for i, (name, label) in enumerate(zip(names, made.labels, strict=True)):
            _write_png(out / split / class_names[label] / name, made.images[i])
            if split == "test":
                _write_png(out / "images" / name, made.images[i])
                _write_png(out / "masks" / name, made.masks[i].astype(np.uint8) * 255)
                _write_png(out / "backgrounds" / class_names[label] / name, made.backgrounds[i])
    (out / "layout.json").write_text(json.dumps(
        {"settings": settings, "classes": list(class_names), "counts": counts}, indent=2) + "\n")
    return counts


@click.group()
def cli():
    """A controlled localisation benchmark (docs/evaluation.md)."""


@cli.command("data")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The folder to write.")
@click.option("--per-class", type=int, default=500, show_default=True,
              help="Training images per class.")
@click.option("--test-per-class", type=int, default=50, show_default=True,
              help="Test images (and backgrounds, masks) per class.")
@click.option("--size", type=int, default=32, show_default=True,
              help="Side of the images, pixels (train reads image folders at 32).")
@click.option("--object-size", type=int, default=16, show_default=True,
              help="Side of the pasted object, pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--source", default=None, metavar="DATA",
              help="Where the objects come from: CIFAR-10 as train --data reads it (a folder, "
                   "the archive, cifar10); default $NNVISUAL_DATA. Training images from its "
                   "train split, test images from its test split.")
@click.option("--force", is_flag=True, help="Replace --out if it holds anything.")
def data_command(out, per_class, test_per_class, size, object_size, seed, source, force):
    """Write the benchmark's image folders, masks and backgrounds into --out."""
    from nnvisual import data
    from nnvisual.data import localisation

    if per_class < 1 or test_per_class < 1:
        raise UserError("--per-class and --test-per-class must be at least 1")
    localisation.check_sizes(size, object_size)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise UserError(f"{out} exists and is not empty; give --force to replace it")
    dataset = data.load_dataset(source)
    splits = {
        "train": localisation.make_split(dataset.x_train, dataset.y_train, per_class, "train",
                                         seed, size, object_size, len(dataset.class_names)),
        "test": localisation.make_split(dataset.x_test, dataset.y_test, test_per_class, "test",
                                        seed, size, object_size, len(dataset.class_names)),
    }
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    settings = dict(per_class=per_class, test_per_class=test_per_class, size=size,
                    object_size=object_size, seed=seed, source=dataset.source)
    try:
        counts = write_benchmark(partial, splits, dataset.class_names, settings)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    partial.rename(out)
    click.echo(f"wrote {out}: " + ", ".join(f"{n} {folder}" for folder, n in counts.items()))


def _summary(values, seed: int = 0) -> str:
    from nnvisual.descriptors.stats import bootstrap_interval

    low, high = bootstrap_interval(values, seed=seed)
    return f"{np.mean(values):.3f} [{low:.3f}, {high:.3f}] (n={len(values)})"


def _accuracy(loaded, folder: Path, class_names) -> np.ndarray:
    from nnvisual import data

    correct = []
    for label, name in enumerate(class_names):
        images = data.read_images(data.list_images(folder / name), loaded.image_size)
        predicted = np.asarray(loaded.model.predict(loaded.preprocess(images), verbose=0))
        correct.append(predicted.argmax(axis=1) == label)
    return np.concatenate(correct).astype(np.float64)


def random_map_scores(masks: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The localisation metrics of seeded uniform random maps on ``masks`` (N, H, W)."""
    from types import SimpleNamespace

    from nnvisual.evaluation import localisation

    maps = np.random.default_rng(seed).random(masks.shape)
    task = SimpleNamespace(maps=maps, masks=masks)
    return {"pointing-game": localisation.pointing_game(task),
            "relevance-mass-accuracy": localisation.relevance_mass_accuracy(task),
            "relevance-rank-accuracy": localisation.relevance_rank_accuracy(task)}


def background_swap(loaded, data_dir: Path, class_names, masks, seed: int = 0):
    """Each test image's object (its mask's pixels) put onto another test image's background
    (a seeded permutation): whether the prediction stays what it was, and whether it is right
    (N,) each. A network that reads only the object keeps every prediction."""
    from nnvisual import data

    paths = data.list_images(data_dir / "images")
    labels = np.array([class_names.index(path.stem.split("-", 1)[1]) for path in paths])
    images = data.read_images(paths, loaded.image_size)
    backgrounds = data.read_images([data_dir / "backgrounds" / class_names[label] / path.name
                                    for path, label in zip(paths, labels, strict=True)],
                                   loaded.image_size)
    other = np.random.default_rng(seed).permutation(len(paths))
    moved = np.where(masks[..., None], images, backgrounds[other])

    def predict(x):
        return np.asarray(loaded.model.predict(loaded.preprocess(x), verbose=0)).argmax(axis=1)

    before, after = predict(images), predict(moved)
    return (before == after).astype(np.float64), (after == labels).astype(np.float64)


@cli.command("check")
@click.option("--model", "model_path", required=True, metavar="RUN",
              help="The network: a train run folder or a model file.")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True,
              help="The folder `data` wrote.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random maps and the bootstrap.")
def check_command(model_path, data_dir, seed):
    """The network's accuracy on the test images and on their backgrounds alone (each with a
    95% bootstrap interval), and the random map's localisation scores (expected and drawn)."""
    import nnvisual as nv
    from nnvisual import data
    from nnvisual.data import localisation

    layout_file = data_dir / "layout.json"
    if not layout_file.is_file():
        raise UserError(f"{data_dir} has no layout.json: give the folder `data` wrote")
    layout = json.loads(layout_file.read_text())
    class_names = layout["classes"]
    loaded = nv.load_model(model_path)
    test = _accuracy(loaded, data_dir / "test", class_names)
    click.echo(f"test accuracy:            {_summary(test, seed)}")
    click.echo(f"background-only accuracy: "
               f"{_summary(_accuracy(loaded, data_dir / 'backgrounds', class_names), seed)}"
               f" (chance {1 / len(class_names):.3f})")
    masks = data.read_images(data.list_images(data_dir / "masks")).max(axis=-1) > 0
    agree, swapped_correct = background_swap(loaded, data_dir, class_names, masks, seed)
    click.echo(f"objects moved onto another test image's background: accuracy "
               f"{_summary(swapped_correct, seed)}, the prediction unchanged on {_summary(agree, seed)}")
    settings = layout["settings"]
    expected = localisation.random_map_expectation(settings["size"], settings["object_size"])
    for metric, values in random_map_scores(masks, seed).items():
        click.echo(f"random map {metric}: {_summary(values, seed)} (expected {expected:.3f})")


def _flag_words(name: str, value=None) -> str:
    """A setting named in a message, as this script's flag (``data`` is ``--source`` here)."""
    flag = "--source" if name == "data" else "--" + name.replace("_", "-")
    return flag if value is None else f"{flag} {value}"


def main() -> None:
    from nnvisual.errors import command_line_words

    try:
        with command_line_words(_flag_words):
            cli(standalone_mode=False)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
