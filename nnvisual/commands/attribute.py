"""``nnvisual attribute``: which pixels a class score depends on, by several methods."""

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.config import AttributeConfig

SHARED_OPTIONS = [
    options.model_option,
    options.weights_option,
    options.image_size_option,
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


def require_images(config):
    """``config``, which must name its images (``--images`` or the config file)."""
    if config.images is None:
        raise click.UsageError("give --images PATH (an image file or a folder)")
    return config


@click.command("attribute")
@shared_options
@options.shard_option
def command(config_path, out, force, unsafe, **flags):
    """Attribution maps: saliency, gradient x input, guided backprop, DeconvNet, integrated
    gradients, SmoothGrad, Grad-CAM, Grad-CAM++, Score-CAM, guided Grad-CAM, occlusion.

    Images stream in batches. Files OpenCV cannot read are skipped with a warning each (one bad
    file should not stop a large folder); a folder with no readable image is an error.
    Writes attributions.npz (per method, one (H, W) map per image at the model's input size),
    tables/attributions.csv, figures/<image>.png and figures/grid.png. With --shard I/N, only
    block I of N of the images; `nnvisual merge` makes the N runs one. Example:

    \b
        nnvisual attribute --model vgg16 --images photos/ --method gradcam,integrated-gradients
    """
    from nnvisual import runs
    from nnvisual.api import _attribute as api
    from nnvisual.config import to_dict

    config = require_images(options.resolve_config(AttributeConfig, config_path, **flags))
    inputs = api.prepare(config, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("attribute", inputs.loaded.name, to_dict(config), out, force)
    with options.interruptible(run), options.progress_bar("attributing") as progress:
        # streamed: each batch goes to the run folder as it comes (api.write_run)
        skipped = api.write_run(run, inputs, config, api.attribution_batches(inputs, config, progress))
        if skipped:
            files = len(inputs.paths) + len(inputs.skipped)
            click.echo(f"warning: skipped {len(skipped)} of {files} files", err=True)
    click.echo(f"wrote {run.path}")
