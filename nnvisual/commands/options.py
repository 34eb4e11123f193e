"""Options shared by several commands, the config-resolution step every command starts with,
the progress bar, and the interruptible block every command runs its work in."""

import contextlib
from pathlib import Path

import click

from nnvisual import choices
from nnvisual.config import load_config

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    help="YAML config (e.g. configs/paper.yaml); flags given here override it.")
seed_option = click.option("--seed", type=int, default=None, help="Random seed (default 0).")
data_option = click.option(
    "--data", default=None, metavar="cifar10|DIR",
    help="Dataset: cifar10 (Keras download) or an image folder DIR/{train,test}/<class>/; "
         "default $NNVISUAL_DATA, else cifar10.")
cache_option = click.option(
    "--cache", type=click.Choice(choices.CACHE_MODES), default=None,
    help="Image folders: memory decodes the whole folder once; none streams it from disk "
         "(memory bounded whatever its size); auto (default): streams above memory_budget_mb "
         "(2048) of decoded images.")
out_option = click.option("--out", type=click.Path(path_type=Path), default=None,
                          help="Run folder (default results/<command>-<name>-<time>/).")
model_option = click.option(
    "--model", default=None, metavar="vgg16|efficientnet-lite0|RUN_DIR|PATH.keras",
    help="vgg16, efficientnet-lite0 (ImageNet weights installed with nnvisual; efficientnet-lite1/2 "
         "with the lite extra), a `train` run folder or a saved .keras model (default vgg16).")
weights_option = click.option(
    "--weights", default=None, metavar="imagenet|none|PATH",
    help="VGG16 weights: imagenet (download), none (random) or a local file.")
image_size_option = click.option(
    "--image-size", default=None, metavar="N|HxW",
    help="For a model that takes images of any size: the size to resize them to (e.g. 224).")
unsafe_option = click.option(
    "--unsafe", is_flag=True,
    help="Allow a .keras model to run Python code when loaded (Lambda layers); only for trusted files.")
force_option = click.option("--force", is_flag=True,
                            help="Replace --out if it is an earlier run of the same command.")
shard_option = click.option(
    "--shard", default=None, metavar="I/N",
    help="Scan only block I of N (0 <= I < N) of the images, in whole batches; combine the N "
         "runs with `nnvisual merge` (docs/distributed.md, \"Sharded scans\").")


def resolve_config(cls, config_path, **flags):
    """The command's config: defaults < the file's section < the flags given (not None)."""
    return load_config(cls, config_path, flags)


@contextlib.contextmanager
def progress_bar(label: str):
    """A progress callback ``(done, total, what)`` drawing a bar on stderr when it is a
    terminal (logs and pipes get no bar)."""
    stderr = click.get_text_stream("stderr")
    if not stderr.isatty():
        yield lambda done, total, what: None
        return
    with click.progressbar(length=1, label=label, file=stderr, show_pos=True,
                           item_show_func=lambda what: what) as bar:
        def report(done, total, what):
            bar.length = total
            bar.update(done - bar.pos, what)

        yield report


@contextlib.contextmanager
def interruptible(run):
    """Run the block as ``runs.running(run)``; SIGINT or SIGTERM stop it at once, leave ``run``
    marked interrupted (every file in it whole) and end the command with exit status 130."""
    from nnvisual import runs
    from nnvisual.runtime.interrupts import interrupt_on_signals

    try:
        with interrupt_on_signals(), runs.running(run):
            yield run
    except KeyboardInterrupt as exc:
        click.echo(f"Interrupted{f' by {exc}' if str(exc) else ''}: {run.path} is marked interrupted; "
                   f"to redo it, run the command again with --out {run.path} --force", err=True)
        raise click.exceptions.Exit(130) from None
