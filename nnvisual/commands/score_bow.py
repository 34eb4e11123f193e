"""``nnvisual score-bow``: SIFT / Harris / bag-of-visual-words scores of reconstructions."""

from pathlib import Path

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.config import ScoreBowConfig, to_dict

FEW_KEYPOINTS = 20  # median keypoints per image below which the command says so
MAXIMIZE_PHASES = ("before", "after")  # a maximize run's reconstructions, by retraining


@click.command("score-bow")
@click.option("--reconstructions", required=True, type=click.Path(path_type=Path),
              help="A maximize run folder (before/ and after/ images) or a folder of images.")
@click.option("--class-images", required=True, metavar="SOURCE",
              help="Folder of images, or cifar10:<class> / cifar10-train:<class>.")
@click.option("--training-images", default=None, metavar="SOURCE",
              help="Images whose contributions are counted (default: the class images).")
@click.option("--descriptor", type=click.Choice(choices.DESCRIPTORS), default=None,
              help="Keypoints: SIFT (default), a dense grid, or Harris corners; SIFT descriptors.")
@click.option("--size", type=int, default=None, help="Side of the grey image described (100).")
@click.option("--vocab-size", type=int, default=None, help="Visual words (10).")
@options.seed_option
@options.data_option
@options.config_option
@options.out_option
@options.force_option
def command(reconstructions, class_images, training_images, data, config_path, out, force,
            **flags):
    """Score reconstructions against class images with SIFT bags of visual words (Table 3,
    Figure 6), count each training image's RANSAC-verified matches, and Harris repeatability.

    Writes tables/{scores,table3,comparison,contributions,harris,keypoints}.csv and
    figures/{closest,contributions}.png.

    \b
    Example:
      nnvisual score-bow --reconstructions results/maximize-run --class-images cifar10:cat
    """
    from nnvisual import data as datasets
    from nnvisual import runs
    from nnvisual.config import settings_from
    from nnvisual.descriptors import extract
    from nnvisual.plots import bow as plots
    from nnvisual.steps import score_bow as step

    config = options.resolve_config(ScoreBowConfig, config_path, **flags)
    side = (config.size, config.size)
    phases = load_reconstructions(reconstructions, config.size)
    classes = step.ImageSet("class", *datasets.load_image_source(class_images, data, side))
    training = (classes if training_images in (None, class_images) else step.ImageSet(
        "training", *datasets.load_image_source(training_images, data, side)))
    run = runs.create_run("score-bow", Path(reconstructions).resolve().name, to_dict(config),
                          out, force)
    with options.interruptible(run):
        settings = settings_from(config, extract.Settings)
        result = step.score(phases, classes, training,
                            lambda images: extract.cached_features(images, settings), config)
        for name, (header, rows) in {
                "scores": step.scores_table(result),
                "table3": step.table3_table(result, config.bootstrap, config.seed),
                "comparison": step.comparison_table(result, config.bootstrap, config.seed),
                "contributions": step.contributions_table(result),
                "harris": step.harris_table(result),
                "keypoints": step.keypoints_table(result)}.items():
            run.write_csv(f"tables/{name}.csv", header, rows)
        run.write_figure("figures/closest.png", plots.closest_images(result))
        run.write_figure("figures/contributions.png", plots.contributions(result))
        run.manifest["keypoints"] = step.keypoint_summary(result)
    for name, s in run.manifest["keypoints"].items():
        click.echo(f"{name}: median {s['median']:g} keypoints per image "
                   f"(min {s['min']}, max {s['max']}, {s['without_keypoints']} without any)")
    if min(s["median"] for s in run.manifest["keypoints"].values()) < FEW_KEYPOINTS:
        click.echo("note: few keypoints per image (SIFT finds about 14 in a 32x32 CIFAR-10 image, "
                   "55 at --size 100); use a larger --size or --descriptor dense-sift")
    click.echo(f"wrote {run.path}")


def load_reconstructions(path: Path, size: int):
    """The ``before``/``after`` images of a complete maximize run, or a plain folder's images
    as one phase named after the folder; all resized to ``size`` x ``size``."""
    from nnvisual import data, runs
    from nnvisual.errors import UserError
    from nnvisual.steps.score_bow import ImageSet

    path = Path(path)
    if not path.exists():
        raise UserError(f"reconstructions not found: {path} (give a maximize run folder or a "
                        "folder of images)")
    if (path / runs.MANIFEST).exists():
        runs.require_complete_run(path, "maximize")
        phases = [p for p in MAXIMIZE_PHASES if (path / p).is_dir() and data.list_images(path / p)]
        if not phases:
            raise UserError(f"maximize run {path} has no images in before/ or after/")
        return [ImageSet(p, data.read_images(data.list_images(path / p), (size, size)),
                         [f.name for f in data.list_images(path / p)]) for p in phases]
    images, names = data.load_image_source(str(path), None, (size, size))
    return [ImageSet(path.resolve().name, images, names)]
