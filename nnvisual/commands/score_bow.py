"""``nnvisual score-bow``: SIFT / Harris / bag-of-visual-words scores of reconstructions."""

from pathlib import Path

import click

from nnvisual.commands import options
from nnvisual.config import ScoreBowConfig, to_dict

FEW_KEYPOINTS = 20  # median keypoints per image below which the command says so


@click.command("score-bow")
@click.option("--reconstructions", required=True, type=click.Path(path_type=Path),
              help="A maximize run folder (before/ and after/ images) or a folder of images.")
@click.option("--class-images", required=True, metavar="SOURCE",
              help="Folder of images, or cifar10:<class> / cifar10-train:<class>.")
@click.option("--training-images", default=None, metavar="SOURCE",
              help="Images whose contributions are counted (default: the class images).")
@click.option("--descriptor", type=click.Choice(["sift", "dense-sift", "harris"]), default=None,
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
    from nnvisual.descriptors import extract, scoring, tables
    from nnvisual.plots import bow as plots

    config = options.resolve_config(ScoreBowConfig, config_path, **flags)
    side = (config.size, config.size)
    phases = scoring.load_reconstructions(reconstructions, config.size)
    classes = scoring.ImageSet("class", *datasets.load_image_source(class_images, data, side))
    training = (classes if training_images in (None, class_images) else scoring.ImageSet(
        "training", *datasets.load_image_source(training_images, data, side)))
    run = runs.create_run("score-bow", Path(reconstructions).resolve().name, to_dict(config),
                          out, force)
    with options.interruptible(run):
        settings = extract.Settings.from_config(config)
        result = scoring.score(phases, classes, training,
                               lambda images: extract.cached_features(images, settings), config)
        for name, (header, rows) in {
                "scores": tables.scores(result),
                "table3": tables.table3(result, config.bootstrap, config.seed),
                "comparison": tables.comparison(result, config.bootstrap, config.seed),
                "contributions": tables.contributions(result),
                "harris": tables.harris(result),
                "keypoints": tables.keypoints(result)}.items():
            run.write_csv(f"tables/{name}.csv", header, rows)
        run.write_figure("figures/closest.png", plots.closest_images(result))
        run.write_figure("figures/contributions.png", plots.contributions(result))
        run.manifest["keypoints"] = tables.keypoint_summary(result)
    for name, s in run.manifest["keypoints"].items():
        click.echo(f"{name}: median {s['median']:g} keypoints per image "
                   f"(min {s['min']}, max {s['max']}, {s['without_keypoints']} without any)")
    if min(s["median"] for s in run.manifest["keypoints"].values()) < FEW_KEYPOINTS:
        click.echo("note: few keypoints per image (SIFT finds about 14 in a 32x32 CIFAR-10 image, "
                   "55 at --size 100); use a larger --size or --descriptor dense-sift")
    click.echo(f"wrote {run.path}")
