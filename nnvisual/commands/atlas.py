"""``nnvisual atlas``: a page for every channel of a network's layers (docs/atlas.md)."""

import click

from nnvisual.commands import options, scans
from nnvisual.config import AtlasConfig


@click.command("atlas")
@options.setting_options(AtlasConfig, "model", "weights", "image_size")
@options.unsafe_option
@options.setting_options(AtlasConfig, "layers", "channels", "examples", "split", "scan_images",
                         "visualizations", "steps", "learning_rate", "transforms", "initial_sd",
                         "classes", "block")
@options.data_option
@options.setting_options(AtlasConfig, "cache", "shard", "seed")
@options.config_option
@options.out_option
@options.force_option
@scans.resume_option
def command(config_path, out, force, data, unsafe, resume, **flags):
    """An atlas of a network's channels: open the run folder's index.html in a browser.

    For each channel of the layers (default: as deconv picks them), a page with its feature
    visualizations (lucid's recipe; a block of channels optimized as one batch), its strongest
    and weakest dataset examples cropped to the unit's receptive field (one streamed scan of
    --data for every layer, the scan of deconv --top9), the DeconvNet projections of the
    strongest, its mean activation and fraction active and, for a layer that feeds the class
    scores through global pooling, the classes it feeds most. classes.html shows each class's
    own feature visualization (--classes N: all classes of a model with at most N, else the N
    the channels shown feed most) beside the channels feeding it. A page per layer shows every
    channel's visualization; the index lists the layers, searches layer and channel names
    offline, and reports per layer the fraction of channels whose visualization excites them
    more than their strongest example. With --shard I/N, only block I of N of each layer's
    channels; `nnvisual merge` makes the N runs one. Checkpointed as it goes: --resume RUN
    continues an interrupted run. Examples:

    \b
        nnvisual atlas --model results/train-plotka-.../ --data cifar10 --out results/atlas
        nnvisual atlas --model efficientnet-lite0 --layers head_relu6 --channels 16
    """
    from nnvisual import runs
    from nnvisual.api import _atlas as api
    from nnvisual.config import load_config, to_dict
    from nnvisual.data import resolve_source

    if resume is not None:
        run = scans.reopen(resume, "atlas", config_path is not None or out is not None or force
                           or data is not None or any(value is not None for value in flags.values()))
        config = load_config(AtlasConfig, None, run.manifest["config"])
        data = run.manifest.get("data")
    else:
        config = options.resolve_config(AtlasConfig, config_path, **flags)
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    key = scan_key(inputs, config, data)
    if resume is None:
        run = runs.create_run("atlas", inputs.loaded.name, to_dict(config), out, force)
        run.manifest.update(data=resolve_source(data))  # what `nnvisual merge` and --resume read again
    checkpoint = scans.checkpoint(run, key, resumed=resume is not None)
    with options.interruptible(run, "atlas"), options.progress_bar("atlas") as progress:
        start, after = checkpoints(inputs, checkpoint)
        api.compute(inputs, config, progress, start, after).write(run)
        checkpoint.remove()
    click.echo(f"wrote {run.path}")


def scan_key(inputs, config, data) -> dict:
    """What a checkpoint must match to continue: the config, the data and the images drawn from
    it, the model's weights and the channels and classes drawn."""
    from nnvisual.config import to_dict
    from nnvisual.data import resolve_source

    return {"config": scans.digest(to_dict(config)), "model": scans.weights_digest(inputs.loaded.model),
            "images": scans.digest([resolve_source(data), *inputs.names]),
            "channels": {layer: found.tolist() for layer, found in inputs.channels.items()},
            "classes": inputs.classes.tolist()}


def checkpoints(inputs, checkpoint):
    """``(start, after)``: where the checkpoint left the atlas (None: at its beginning) and what
    each scan batch and rendered block does: count itself, and commit the state when it is due."""
    import itertools

    from nnvisual.steps import atlas as step

    start = step.read_state(checkpoint.arrays(), list(inputs.layers)) if checkpoint.batches else None
    counted = itertools.count(checkpoint.batches + 1)

    def after(state):
        done = next(counted)
        if checkpoint.due():
            checkpoint.commit(done, step.state_arrays(state))

    return start, after
