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
@options.setting_options(ScoreBowConfig, "class_count")
@click.option("--training-images", default=None, metavar="SOURCE",
              help="Images whose contributions are counted (default: the class images).")
@options.setting_options(ScoreBowConfig, "descriptor", "size", "vocab_size", "weighting", "study_idf",
                         "seed")
@options.data_option
@options.config_option
@options.out_option
@options.force_option
def command(reconstructions, class_images, training_images, data, config_path, out, force,
            **flags):
    """Score reconstructions against class images with SIFT bags of visual words (Table 3,
    Figure 6), count each training image's RANSAC-verified matches, and Harris repeatability.

    Writes tables/{scores,table3,comparison,contributions,harris,keypoints}.csv and
    figures/{closest,contributions}.png. --weighting study-2019 scores as the study's code did,
    to show where Table 3's published numbers come from (docs/table3.md).

    \b
    Example:
      nnvisual score-bow --reconstructions results/maximize-run --class-images cifar10:cat
    """
    from nnvisual import runs
    from nnvisual.api import _score_bow as api

    config = options.resolve_config(ScoreBowConfig, config_path, **flags)
    # every UserError about the inputs, before the run folder
    inputs = api.prepare(config, reconstructions, class_images, training_images, data)
    run = runs.create_run("score-bow", inputs.run_name, to_dict(config), out, force)
    with options.interruptible(run), options.progress_bar("scoring") as progress:
        result = api.compute(inputs, config, progress)
        result.write(run)
    keypoints = result.keypoints
    for name, s in keypoints.items():
        click.echo(f"{name}: median {s['median']:g} keypoints per image "
                   f"(min {s['min']}, max {s['max']}, {s['without_keypoints']} without any)")
    if min(s["median"] for s in keypoints.values()) < FEW_KEYPOINTS:
        click.echo("note: few keypoints per image (SIFT finds about 14 in a 32x32 CIFAR-10 image, "
                   "55 at --size 100); use a larger --size or --descriptor dense-sift")
    click.echo(f"wrote {run.path}")
