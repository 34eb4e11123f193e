"""``nnvisual train``: train plotka or bonaccorso on CIFAR-10 (Tables 1-2, Figure 2)."""

import sys
from pathlib import Path

import click

from nnvisual.commands import options
from nnvisual.config import TrainConfig, load_config, to_dict
from nnvisual.errors import UserError


@click.command("train")
@options.config_option
@options.setting_options(TrainConfig, "model", "num_classes", "epochs", "lr", "batch_size", "val_split",
                         "augment", "subset", "deterministic", "precision", "cache", "distribute",
                         "coordinator", "num_processes", "process_id", "coordinator_timeout",
                         "explain", "explain_methods", "explain_every", "tensorboard")
@options.data_option
@options.setting_options(TrainConfig, "seed")
@options.out_option
@options.force_option
@click.option("--resume", type=click.Path(path_type=Path), default=None, metavar="RUN_DIR",
              help="Continue an interrupted train run to its configured number of epochs.")
def command(config_path, data, out, force, resume, **flags):
    """Train a CIFAR-10 network and write its curves, tables and model.

    \b
    Example:
      nnvisual train --model plotka --config configs/paper.yaml --data ~/cifar10-jpeg

    Writes model.keras, tables/history.csv, tables/metrics.csv (Tables 1-2 layout plus the
    test split), figures/curves.png (Figure 2) and manifest.json. A checkpoint is written after
    every epoch; Ctrl-C or SIGTERM stops after the current batch, keeping the last epoch's
    checkpoint, and --resume RUN_DIR continues. With --deterministic the same --seed gives
    the same history, byte for byte.

    \b
    Explain while training (docs/callbacks.md):
      nnvisual train --subset 2000 --epochs 5 --explain cats/ \\
          --explain-methods gradcam,integrated-gradients --tensorboard

    writes figures/explain/epoch-NNN.png (the images, then each method's map) and
    explain/epoch-NNN.npz (the maps) after every --explain-every epochs, and with
    --tensorboard TensorBoard summaries into tensorboard/ (tensorboard --logdir RUN_DIR).
    """
    from nnvisual import runs
    from nnvisual.api import _train as api
    from nnvisual.training import distribute, multihost

    if resume is not None:
        if config_path is not None or any(value is not None for value in flags.values()):
            raise UserError("--resume continues a run with its own config; give no other options")
        run = runs.open_run(resume, "train")
        if run.manifest.get("status") == "complete":
            raise UserError(f"{resume} is already complete ({run.manifest['epochs_done']} epochs)")
        config = load_config(TrainConfig, None, run.manifest["config"])
        data = data or run.manifest["data"]
    else:
        config = multihost.resolve(options.resolve_config(TrainConfig, config_path, **flags))
    multihost.join(config)  # the other processes, before anything runs on a device
    explainers(config)  # the images and TensorBoard checked, before the run folder
    inputs = api.prepare(config, data)  # every UserError about the data, before the run folder
    with distribute.scope(config.distribute, config.batch_size, len(inputs.split.x_fit)) as devices:
        run = _train(run if resume is not None else None, config, inputs, out, force, devices)
    click.echo(f"wrote {run.path}")


def _train(run, config, inputs, out, force, devices):
    """Train on prepared ``inputs`` in ``run`` (a resumed run, or None for a new one) on
    ``devices`` (None: the default device), write the results and return the run."""
    from nnvisual import runs, training
    from nnvisual.api import _train as api
    from nnvisual.commands import checkpoints
    from nnvisual.runtime.interrupts import Interrupted, stop_on_signals
    from nnvisual.training import multihost

    if run is not None:
        run.manifest["status"] = "running"
        model, history = checkpoints.load(run)
        if model is None:  # stopped before the first checkpoint: start afresh in the same folder
            model = training.new_model(config, inputs.split)
    else:
        run = runs.create_run("train", multihost.run_name(config), to_dict(config), out, force)
        model, history = training.new_model(config, inputs.split), None
        run.manifest.update(inputs.facts())

    run.manifest.update(precision=model.dtype_policy.name, devices=devices)
    click.echo(f"training {config.model} in {model.dtype_policy.name}")

    written = set()  # files the callbacks wrote since the last checkpoint

    def checkpoint(epochs_done, model, history):
        for name in sorted(written):  # committed with the checkpoint: a resume keeps them
            run.record_sha256(name)
        written.clear()
        checkpoints.save(run, model, epochs_done, history)

    callbacks = explainers(config, run, inputs.dataset.class_names,
                           lambda path: written.add(path.relative_to(run.path).as_posix()))

    with runs.running(run, keep_on_failure=True), stop_on_signals() as stop:
        try:
            result = api.compute(inputs, config, model, history, checkpoint, stop,
                                 verbose=1 if sys.stdout.isatty() else 2, devices=devices,
                                 callbacks=callbacks)
        except Interrupted as exc:
            run.finish("interrupted")
            click.echo(f"Interrupted by {exc} after {run.manifest.get('epochs_done', 0)} of "
                       f"{config.epochs} epochs; continue with: nnvisual train --resume {run.path}",
                       err=True)
            raise click.exceptions.Exit(130) from None
        result.write_results(run)  # model.keras: the last checkpoint, moved
        checkpoints.finish(run)
    return run



EXPLAIN_FIGURES, EXPLAIN_MAPS, TENSORBOARD = "figures/explain", "explain", "tensorboard"


def explainers(config, run=None, class_names=None, written=None) -> list:
    """The Keras callbacks of ``--explain`` and ``--tensorboard`` writing into ``run``: its
    figures/explain/epoch-NNN.png, explain/epoch-NNN.npz and tensorboard/ (``written(path)`` told
    of each file). Without a run, only checks the settings (a missing image folder, TensorBoard
    absent: one line, before the run folder exists)."""
    if config.explain is None and not config.tensorboard:
        return []
    from nnvisual.callbacks import Attributions, TrainingScalars

    def place(relative):
        return None if run is None else run.file(relative)

    board = place(TENSORBOARD) if config.tensorboard else None
    callbacks = []
    if config.explain is not None:
        callbacks.append(Attributions(
            config.explain, config.explain_methods, config.explain_every, place(EXPLAIN_FIGURES),
            board, maps_out=place(EXPLAIN_MAPS), class_names=class_names, written=written,
            seed=config.seed))
    if config.tensorboard:
        callbacks.append(TrainingScalars(board or ".", written))
    return callbacks
