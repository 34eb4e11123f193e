"""``nnvisual attribute``: which pixels a class score depends on, by several methods."""

import click

from nnvisual.commands import options
from nnvisual.config import AttributeConfig

SHARED_SETTINGS = ("images", "methods", "target_class", "layer", "batch_size", "baseline", "steps",
                   "samples", "noise", "smoothgrad_base", "window", "stride", "lrp_epsilon",
                   "lrp_gamma", "lrp_alpha", "lrp_beta", "lrp_rules", "background",
                   "background_size", "seed")


def shared_options(cls):
    """The options ``attribute`` and ``sanity`` share (model, images, methods and settings), read
    from ``cls`` (the command's config)."""
    def decorate(command):
        for option in reversed([options.setting_options(cls, "model", "weights", "image_size", "output"),
                                options.unsafe_option, options.setting_options(cls, *SHARED_SETTINGS),
                                options.config_option, options.out_option, options.force_option]):
            command = option(command)
        return command

    return decorate


def require_images(config):
    """``config``, which must name its images (``--images`` or the config file)."""
    if config.images is None:
        raise click.UsageError("give --images PATH (an image file or a folder)")
    return config


@click.command("attribute")
@shared_options(AttributeConfig)
@options.setting_options(AttributeConfig, "shard")
def command(config_path, out, force, unsafe, **flags):
    """Attribution maps of images by one or more methods (--method: gradients, integrated
    gradients, SmoothGrad, the CAM family, occlusion and more; listed below).

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
            files = len(inputs.images) + len(inputs.skipped)
            click.echo(f"warning: skipped {len(skipped)} of {files} files", err=True)
    click.echo(f"wrote {run.path}")
