"""``nnvisual deconv``: project a layer's strongest feature maps back to pixels (Figures 3-4)."""

import click

from nnvisual.commands import options, scans
from nnvisual.config import DeconvConfig
from nnvisual.errors import UserError

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
@scans.resume_option
def command(config_path, out, force, data, unsafe, resume, **flags):
    """Project feature maps to pixel space with DeconvNet (Zeiler & Fergus 2014).

    For each layer, the top-k channels by strongest activation on the image are projected
    down to the input in one batched backward pass whose ReLUs follow the method's rule.
    Panels are display-normalized: (x - mean) / std * 0.1 + 0.5, clipped.
    Writes figures/<layer>.png, figures/overview.png, projections.npz, tables/channels.csv
    (and figures/top9_<layer>.png, tables/top9.csv with --top9). With --shard I/N, only block I
    of N of the top-9 scan, to top9_scan.npz; `nnvisual merge` makes the N runs one. The top-9
    scan is checkpointed as it goes: after Ctrl-C, SIGTERM or a kill, --resume RUN continues it
    from its last checkpoint, to the files an uninterrupted run writes. Examples:

    \b
        nnvisual deconv --model vgg16 --weights none --layers block1_conv1,block3_conv1
        nnvisual deconv --model results/train-plotka-.../ --top9 --data cifar10
        nnvisual deconv --model net.keras --layers resnet50/conv4_block6_out --method guided
    """
    from nnvisual import runs
    from nnvisual.api import _project as api
    from nnvisual.config import load_config, to_dict
    from nnvisual.data import resolve_source

    if resume is not None:
        run = scans.reopen(resume, "deconv", config_path is not None or out is not None or force
                           or data is not None or any(value is not None for value in flags.values()))
        config = load_config(DeconvConfig, None, run.manifest["config"])
        if not config.top9:
            raise UserError(f"{resume} is not a --top9 scan, which is all --resume continues; run it "
                            f"again with --out {resume} --force")
        data = run.manifest.get("data")
    else:
        config = options.resolve_config(DeconvConfig, config_path, **flags)
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    key = scan_key(inputs, config, data) if config.top9 else None
    if resume is None:
        run = runs.create_run("deconv", inputs.loaded.name, to_dict(config), out, force)
        if config.top9:
            run.manifest.update(data=resolve_source(data))  # what `nnvisual merge` reads again
    checkpoint = scans.checkpoint(run, key, resumed=resume is not None) if config.top9 else None
    resumable = "deconv" if config.top9 else None
    with options.interruptible(run, resumable), options.progress_bar("projecting") as progress:
        start, after_batch = scan_checkpoints(inputs, checkpoint)
        if config.shard is None:
            api.compute(inputs, config, progress, start, after_batch).write(run)
        else:
            write_scan(run, inputs, config, start, after_batch)
        if checkpoint is not None:
            checkpoint.remove()
    click.echo(f"wrote {run.path}")


def scan_key(inputs, config, data) -> dict:
    """What a top-9 scan's checkpoint must match to continue: the config, the data and the images
    drawn from it, the model's weights and the channels it selects on the image."""
    from nnvisual.config import to_dict
    from nnvisual.data import resolve_source
    from nnvisual.steps import deconv as step

    channels = step.top_channels(inputs, config)
    return {"config": scans.digest(to_dict(config)), "model": scans.weights_digest(inputs.loaded.model),
            "images": scans.digest([resolve_source(data), inputs.scanned.start, inputs.scanned.stop,
                                    *inputs.dataset_names]),
            "channels": {layer: found.tolist() for layer, found in channels.items()}}


def scan_checkpoints(inputs, checkpoint):
    """``(start, after_batch)`` of the top-9 scan: where the checkpoint left it (None: at its
    beginning) and what each batch does: count itself, and commit the scan's state to the
    checkpoint when it is due (nothing without a checkpoint)."""
    import itertools

    from nnvisual.steps import deconv as step

    if checkpoint is None:
        return None, lambda state: None
    layers = list(checkpoint.key["channels"])
    start = (step.ScanState(checkpoint.facts["stop"], step.read_candidates(checkpoint.arrays(), layers))
             if checkpoint.batches else None)

    counted = itertools.count(checkpoint.batches + 1)

    def after_batch(state):
        batches = next(counted)
        if checkpoint.due():
            checkpoint.commit(batches, step.candidate_arrays(state.candidates), stop=state.stop)

    return start, after_batch


def write_scan(run, inputs, config, start=None, after_batch=lambda state: None) -> None:
    """A ``--shard`` run: the channels the image selects and each one's strongest images in the
    shard's block of the scan (:data:`SCAN_FILE`), continued from ``start`` and telling
    ``after_batch`` after each batch; the merge projects the global top-9."""
    from nnvisual.steps import deconv as step

    run.manifest.update(layers=list(inputs.layers), scanned=[inputs.scanned.start, inputs.scanned.stop])
    candidates = step.scan(inputs, step.top_channels(inputs, config), start, after_batch)
    run.write_npz(SCAN_FILE, **step.candidate_arrays(candidates))
