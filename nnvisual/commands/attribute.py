"""``nnvisual attribute``: which pixels a class score depends on, by several methods."""

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.config import AttributeConfig

GRID_IMAGES = 16  # the grid figure shows the first images of the folder


SHARED_OPTIONS = [
    options.model_option,
    options.weights_option,
    options.unsafe_option,
    click.option("--images", default=None, metavar="PATH", help="An image file or a folder of images."),
    click.option("--method", "methods", default=None, metavar="A,B,...",
                 help=f"Methods, comma-separated: {', '.join(choices.ATTRIBUTION_METHODS)} "
                      "(default saliency,integrated-gradients,gradcam)."),
    click.option("--class", "target_class", default=None, metavar="auto|INDEX|NAME",
                 help="Class to explain (default auto: each image's top-1 class)."),
    click.option("--layer", default=None, help="CAM layer (default: the last 4-D feature map)."),
    click.option("--batch-size", type=int, default=None,
                 help="Images per batch, and model inputs per call for inner samples (default 16)."),
    click.option("--baseline", type=click.Choice(choices.BASELINES), default=None,
                 help="Integrated gradients' and occlusion's reference image (default black)."),
    click.option("--steps", type=int, default=None, help="Integrated-gradients points (default 50)."),
    click.option("--samples", type=int, default=None, help="SmoothGrad noisy copies (default 25)."),
    click.option("--noise", type=float, default=None,
                 help="SmoothGrad noise, fraction of the image's range (default 0.15)."),
    click.option("--smoothgrad-base", type=click.Choice(choices.SMOOTHGRAD_BASES), default=None,
                 help="The gradient method SmoothGrad averages (default saliency)."),
    click.option("--window", type=int, default=None, help="Occlusion patch side (default side/8)."),
    click.option("--stride", type=int, default=None, help="Occlusion stride (default window/2)."),
    options.seed_option,
    options.config_option,
    options.out_option,
    options.force_option,
]


def shared_options(command):
    """The options ``attribute`` and ``sanity`` share (model, images, methods and settings)."""
    for option in reversed(SHARED_OPTIONS):
        command = option(command)
    return command


@click.command("attribute")
@shared_options
def command(config_path, out, force, unsafe, **flags):
    """Attribution maps: saliency, gradient x input, guided backprop, DeconvNet, integrated
    gradients, SmoothGrad, Grad-CAM, Grad-CAM++, Score-CAM, guided Grad-CAM, occlusion.

    Images stream in batches. Files OpenCV cannot read are skipped with a warning each (one bad
    file should not stop a large folder); a folder with no readable image is an error.
    Writes attributions.npz (per method, one (H, W) map per image at the model's input size),
    tables/attributions.csv, figures/<image>.png and figures/grid.png. Example:

    \b
        nnvisual attribute --model vgg16 --images photos/ --method gradcam,integrated-gradients
    """
    from nnvisual.steps import attribute as step

    config = options.resolve_config(AttributeConfig, config_path, **flags)
    inputs, run, skipped = start("attribute", step, config, unsafe, out, force)
    files = len(inputs.paths) + len(skipped)
    with options.interruptible(run):
        for name, reason in skipped:
            click.echo(f"warning: skipped {name}: {reason}", err=True)
        _write_outputs(run, config, inputs, skipped)
        if skipped:
            click.echo(f"warning: skipped {len(skipped)} of {files} files", err=True)
    click.echo(f"wrote {run.path}")


def start(command, step, config, unsafe, out, force):
    """The image files of ``--images`` and the model, checked by ``step.prepare`` (every
    UserError happens before the run folder), then the run folder: ``(inputs, run, skipped)``
    with ``skipped`` the (file, reason) of each file no reader can open."""
    import logging

    import keras

    from nnvisual import runs
    from nnvisual.config import to_dict
    from nnvisual.steps import attribute

    if config.images is None:
        raise click.UsageError("give --images PATH (an image file or a folder)")
    paths, unreadable = attribute.list_images(config.images)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    keras.utils.set_random_seed(config.seed)
    loaded = options.load_model(config.model, config.weights, unsafe)
    inputs = step.prepare(loaded, config, paths)
    run = runs.create_run(command, loaded.name, to_dict(config), out, force)
    return inputs, run, [(p.name, "not an image OpenCV can read") for p in unreadable]


def _write_outputs(run, config, inputs, skipped) -> None:
    """Stream the batches: a figure per image as it comes, each batch's maps to the run's
    temporary rows (memory does not grow with the folder), then the table, the maps and the grid."""
    import numpy as np

    from nnvisual.plots import attribution as plots
    from nnvisual.steps import attribute as step

    names = inputs.loaded.class_names
    table, kept, image_names = [], [], []
    with run.row_arrays() as maps:
        with click.progressbar(length=len(inputs.paths), label="attributing",
                               file=click.get_text_stream("stderr")) as bar:
            for batch in step.attribute_batches(inputs, config):
                for name, reason in batch.skipped:
                    click.echo(f"\nwarning: skipped {name}: {reason}", err=True)
                skipped.extend(batch.skipped)
                for i, name in enumerate(batch.names):
                    run.write_figure(f"figures/{name}.png", plots.image_figure(
                        batch.images[i], name, names[batch.classes[i]], batch.probabilities[i],
                        {method: m[i] for method, m in batch.maps.items()}))
                    if len(kept) < GRID_IMAGES:
                        kept.append((batch.images[i].copy(), name, names[batch.classes[i]],
                                     batch.probabilities[i],
                                     {k: m[i].copy() for k, m in batch.maps.items()}))  # not the batch
                maps.append(**batch.maps)
                image_names.extend(batch.names)
                table.extend(step.rows(batch, names))
                bar.update(len(batch.names) + len(batch.skipped))
        if not table:
            return
        run.write_csv("tables/attributions.csv", step.TABLE_HEADER, table)
        run.write_npz_rows("attributions.npz", maps, images=np.array(image_names))
    images, grid_names, classes, probabilities, grid_maps = zip(*kept, strict=True)
    run.write_figure("figures/grid.png", plots.grid_figure(
        images, grid_names, classes, probabilities,
        {method: [m[method] for m in grid_maps] for method in config.methods}))
    run.manifest.update(skipped=[name for name, _ in skipped], cam_layer=inputs.settings.layer,
                        display=plots.DISPLAY_NOTE)
