"""Options shared by several commands, and the config-resolution step every command starts with."""

from pathlib import Path

import click

from nnvisual.config import load_config

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    help="YAML config (e.g. configs/paper.yaml); flags given here override it.")
seed_option = click.option("--seed", type=int, default=None, help="Random seed (default 0).")
data_option = click.option(
    "--data", default=None, metavar="cifar10|DIR",
    help="Dataset: cifar10 (Keras download) or an image folder DIR/{train,test}/<class>/; "
         "default $NNVISUAL_DATA, else cifar10.")
out_option = click.option("--out", type=click.Path(path_type=Path), default=None,
                          help="Run folder (default results/<command>-<name>-<time>/).")
model_option = click.option(
    "--model", default=None, metavar="vgg16|RUN_DIR|PATH.keras",
    help="vgg16, a `train` run folder or a saved .keras model (default vgg16).")
weights_option = click.option(
    "--weights", default=None, metavar="imagenet|none|PATH",
    help="VGG16 weights: imagenet (download), none (random) or a local file.")
force_option = click.option("--force", is_flag=True,
                            help="Replace --out if it is an earlier run of the same command.")


def resolve_config(cls, config_path, **flags):
    """The command's config: defaults < the file's section < the flags given (not None)."""
    return load_config(cls, config_path, flags)
