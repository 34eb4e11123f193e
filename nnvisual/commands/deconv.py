"""``nnvisual deconv``: project a layer's strongest feature maps back to pixels (Figures 3-4)."""

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.config import DeconvConfig


@click.command("deconv")
@options.model_option
@options.weights_option
@options.unsafe_option
@click.option("--image", default=None, metavar="PATH",
              help="Input image (any common format); default scikit-learn's sample china.jpg.")
@click.option("--layers", default=None, metavar="A,B,...",
              help="Layers with a 4-D output, outer/inner inside nested models (default: "
                   "block1_conv1..block5_conv1 for VGG16, every Conv2D of a chain, else each "
                   "stage's last feature map).")
@click.option("--top-k", type=int, default=None, help="Channels per layer (default 8).")
@click.option("--mode", type=click.Choice(choices.DECONV_MODES), default=None,
              help="Project from the channel's strongest activation (max, the paper) or its map.")
@click.option("--method", type=click.Choice(choices.DECONV_METHODS), default=None,
              help="ReLU backward rule: deconvnet (default), guided backprop or gradient.")
@click.option("--top9", is_flag=True, default=None,
              help="Also show each channel's 9 strongest dataset images (Zeiler & Fergus Fig. 2).")
@click.option("--top9-images", type=int, default=None,
              help="Images of the split scanned for --top9, stratified (default 2000).")
@options.data_option
@options.seed_option
@options.config_option
@options.out_option
@options.force_option
def command(config_path, out, force, data, unsafe, **flags):
    """Project feature maps to pixel space with DeconvNet (Zeiler & Fergus 2014).

    For each layer, the top-k channels by strongest activation on the image are projected
    down to the input in one batched backward pass whose ReLUs follow the method's rule.
    Panels are display-normalized: (x - mean) / std * 0.1 + 0.5, clipped.
    Writes figures/<layer>.png, figures/overview.png, projections.npz, tables/channels.csv
    (and figures/top9_<layer>.png, tables/top9.csv with --top9). Examples:

    \b
        nnvisual deconv --model vgg16 --weights none --layers block1_conv1,block3_conv1
        nnvisual deconv --model results/train-plotka-.../ --top9 --data cifar10
        nnvisual deconv --model net.keras --layers resnet50/conv4_block6_out --method guided
    """
    from nnvisual import runs
    from nnvisual.api import _project as api
    from nnvisual.config import to_dict

    config = options.resolve_config(DeconvConfig, config_path, **flags)
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("deconv", inputs.loaded.name, to_dict(config), out, force)
    with options.interruptible(run), options.progress_bar("projecting") as progress:
        api.compute(inputs, config, progress).write(run)
    click.echo(f"wrote {run.path}")
