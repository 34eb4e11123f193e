"""``nnvisual deconv``: project a layer's strongest feature maps back to pixels (Figures 3-4)."""

import click

from nnvisual.commands import options
from nnvisual.config import DeconvConfig

SCAN_FILE = "top9_scan.npz"  # a --shard run's part of the top-9 scan, for `nnvisual merge`


@click.command("deconv")
@options.setting_options(DeconvConfig, "model", "weights", "image_size")
@options.unsafe_option
@options.setting_options(DeconvConfig, "image", "layers", "top_k", "mode", "method", "top9",
                         "top9_images")
@options.data_option
@options.setting_options(DeconvConfig, "cache", "shard", "seed")
@options.config_option
@options.out_option
@options.force_option
def command(config_path, out, force, data, unsafe, **flags):
    """Project feature maps to pixel space with DeconvNet (Zeiler & Fergus 2014).

    For each layer, the top-k channels by strongest activation on the image are projected
    down to the input in one batched backward pass whose ReLUs follow the method's rule.
    Panels are display-normalized: (x - mean) / std * 0.1 + 0.5, clipped.
    Writes figures/<layer>.png, figures/overview.png, projections.npz, tables/channels.csv
    (and figures/top9_<layer>.png, tables/top9.csv with --top9). With --shard I/N, only block I
    of N of the top-9 scan, to top9_scan.npz; `nnvisual merge` makes the N runs one. Examples:

    \b
        nnvisual deconv --model vgg16 --weights none --layers block1_conv1,block3_conv1
        nnvisual deconv --model results/train-plotka-.../ --top9 --data cifar10
        nnvisual deconv --model net.keras --layers resnet50/conv4_block6_out --method guided
    """
    from nnvisual import runs
    from nnvisual.api import _project as api
    from nnvisual.config import to_dict
    from nnvisual.data import resolve_source

    config = options.resolve_config(DeconvConfig, config_path, **flags)
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("deconv", inputs.loaded.name, to_dict(config), out, force)
    if config.top9:
        run.manifest.update(data=resolve_source(data))  # what `nnvisual merge` reads again
    with options.interruptible(run), options.progress_bar("projecting") as progress:
        if config.shard is None:
            api.compute(inputs, config, progress).write(run)
        else:
            write_scan(run, inputs, config)
    click.echo(f"wrote {run.path}")


def write_scan(run, inputs, config) -> None:
    """A ``--shard`` run: the channels the image selects and each one's strongest images in the
    shard's block of the scan (:data:`SCAN_FILE`); the merge projects the global top-9."""
    from nnvisual.steps import deconv as step

    run.manifest.update(layers=list(inputs.layers), scanned=[inputs.scanned.start, inputs.scanned.stop])
    candidates = step.scan(inputs, step.top_channels(inputs, config))
    run.write_npz(SCAN_FILE, **step.candidate_arrays(candidates))
