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
    from nnvisual.config import to_dict
    from nnvisual.steps import deconv as step

    config = options.resolve_config(DeconvConfig, config_path, **flags)
    inputs = _load_inputs(config, data, unsafe)  # every UserError happens here, before the run folder
    run = runs.create_run("deconv", inputs.loaded.name, to_dict(config), out, force)
    with options.interruptible(run):
        result = step.project(inputs, config)
        _write_outputs(run, config, result)
    click.echo(f"wrote {run.path}")


def _load_inputs(config, data_source, unsafe):
    """The model, image and (for --top9) dataset the options name, checked by the step."""
    import logging

    import keras

    from nnvisual import data
    from nnvisual.steps import deconv as step

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one compiled function per layer
    keras.utils.set_random_seed(config.seed)
    loaded = options.load_model(config.model, config.weights, unsafe)
    if config.image:
        image, source = data.read_image(config.image), config.image
    else:
        from sklearn.datasets import load_sample_image

        image = load_sample_image("china.jpg")
        source = "sklearn.datasets.load_sample_image('china.jpg')"
    dataset = data.load_dataset(data_source) if config.top9 else None
    return step.prepare(loaded, config, image, source, dataset)


def _file_name(layer: str) -> str:
    """A layer path (``outer/inner`` inside nested models) as one file name."""
    return layer.replace("/", "--")


def _write_outputs(run, config, result) -> None:
    """The figures, tables and raw projections of ``result``."""
    from nnvisual.plots import deconv as plots
    from nnvisual.steps import deconv as step

    inputs = result.inputs
    run.manifest.update(image=inputs.image_source, layers=list(inputs.layers), display=step.DISPLAY)
    for layer in result.layers:
        run.write_figure(f"figures/{_file_name(layer.layer)}.png",
                         plots.layer_figure(inputs.image, layer, config.method, config.mode))
    run.write_figure("figures/overview.png", plots.overview_figure(
        inputs.image, result.layers, config.method, config.mode, inputs.loaded.name))
    run.write_csv("tables/channels.csv", *step.channels_table(result))
    run.write_npz("projections.npz", **step.projection_arrays(result))
    for top in result.top9:
        run.write_figure(f"figures/top9_{_file_name(top.layer)}.png", plots.top9_figure(
            top, result.top9_shown[top.layer], config.method, config.mode))
    if config.top9:
        run.write_csv("tables/top9.csv", *step.top9_table(result))
