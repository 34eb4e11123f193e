"""``nnvisual attribute``: which pixels a class score depends on, by several methods."""

import click

from nnvisual.commands import options, scans
from nnvisual.config import AttributeConfig

SHARED_SETTINGS = ("images", "methods", "target_class", "layer", "batch_size", "baseline", "steps",
                   "samples", "noise", "smoothgrad_base", "window", "stride", "lrp_epsilon",
                   "lrp_gamma", "lrp_alpha", "lrp_beta", "lrp_rules", "background",
                   "background_size", "head_fusion", "discard_ratio", "seed")


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
@scans.resume_option
def command(config_path, out, force, unsafe, resume, **flags):
    """Attribution maps of images by one or more methods (--method: gradients, integrated
    gradients, SmoothGrad, the CAM family, occlusion and more; listed below).

    Images stream in batches. Files OpenCV cannot read are skipped with a warning each (one bad
    file should not stop a large folder); a folder with no readable image is an error.
    Writes attributions.npz (per method, one (H, W) map per image at the model's input size),
    tables/attributions.csv, figures/<image>.png and figures/grid.png. With --shard I/N, only
    block I of N of the images; `nnvisual merge` makes the N runs one. The scan is checkpointed
    as it goes: after Ctrl-C, SIGTERM or a kill, --resume RUN continues it from its last
    checkpoint, to the files an uninterrupted run writes. Example:

    \b
        nnvisual attribute --model vgg16 --images photos/ --method gradcam,integrated-gradients
    """
    from nnvisual import runs
    from nnvisual.api import _attribute as api
    from nnvisual.config import load_config, to_dict
    from nnvisual.steps import attribute as step

    if resume is not None:
        run = scans.reopen(resume, "attribute", config_path is not None or out is not None or force
                           or any(value is not None for value in flags.values()))
        config = load_config(AttributeConfig, None, run.manifest["config"])
    else:
        config = require_images(options.resolve_config(AttributeConfig, config_path, **flags))
    inputs = api.prepare(config, unsafe=unsafe)  # every UserError, before the run folder
    key = {"config": scans.digest(to_dict(config)), "model": scans.weights_digest(inputs.loaded.model),
           "images": scans.digest([inputs.first, *inputs.images.names])}
    if resume is None:
        run = runs.create_run("attribute", inputs.loaded.name, to_dict(config), out, force)
    checkpoint = scans.checkpoint(run, key, resumed=resume is not None)
    with options.interruptible(run, resume="attribute"), options.progress_bar("attributing") as progress:
        done = min(checkpoint.batches * config.batch_size, len(inputs.images))
        batches = api.attribution_batches(step.remaining(inputs, done) if done else inputs, config, progress)
        # streamed: each batch goes to the run folder and the checkpoint as it comes
        skipped = api.write_run(run, inputs, config, batches, checkpoint)
        checkpoint.remove()
        if skipped:
            files = len(inputs.images) + len(inputs.skipped)
            click.echo(f"warning: skipped {len(skipped)} of {files} files", err=True)
    click.echo(f"wrote {run.path}")
