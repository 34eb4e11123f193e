"""``nnvisual deconv``: project a layer's strongest feature maps back to pixels (Figures 3-4)."""

import dataclasses

import click

from nnvisual.commands import options
from nnvisual.config import DeconvConfig


@click.command("deconv")
@options.model_option
@options.weights_option
@options.unsafe_option
@click.option("--image", default=None, metavar="PATH",
              help="Input image (any common format); default scikit-learn's sample china.jpg.")
@click.option("--layers", default=None, metavar="A,B,...",
              help="Conv2D layers (default: block1_conv1..block5_conv1 for VGG16, else all).")
@click.option("--top-k", type=int, default=None, help="Channels per layer (default 8).")
@click.option("--mode", type=click.Choice(["max", "map"]), default=None,
              help="Project from the channel's strongest activation (max, the paper) or its map.")
@click.option("--method", type=click.Choice(["deconvnet", "guided", "gradient"]), default=None,
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
    """
    from nnvisual import runs
    from nnvisual.config import to_dict

    config = options.resolve_config(DeconvConfig, config_path, **flags)
    inputs = _load_inputs(config, data, unsafe)  # every UserError happens here, before the run folder
    run = runs.create_run("deconv", inputs.loaded.name, to_dict(config), out, force)
    with options.interruptible(run):
        _write_outputs(run, config, inputs)
    click.echo(f"wrote {run.path}")


@dataclasses.dataclass
class _Inputs:
    loaded: object  # models.LoadedModel
    layers: tuple
    image: object  # uint8 (H, W, 3) at the model's size
    image_source: str
    projector: object  # deconv.Projector
    dataset_images: object = None  # uint8 images scanned for --top9
    dataset_names: tuple = ()


def _prepare(loaded):
    """uint8 RGB images -> the model's input (resized, preprocessed)."""
    import numpy as np

    from nnvisual import data

    def prepare(images):
        resized = np.stack([data.resize(image, loaded.image_size) for image in images])
        return np.asarray(loaded.preprocess(resized.astype(np.float32)), np.float32)

    return prepare


def _load_inputs(config, data_source, unsafe=False) -> _Inputs:
    """Load and check the model, layers, image and (for --top9) dataset; raise UserError."""
    import logging

    import keras

    from nnvisual import data, deconv, models

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # one compiled function per layer
    keras.utils.set_random_seed(config.seed)
    loaded = models.load_model(config.model, config.weights, unsafe)
    layers = config.layers or deconv.default_layers(loaded.model, loaded.name)
    deconv.check_layers(loaded.model, layers)
    projector = deconv.Projector(loaded.model, config.method)
    for layer in layers:
        projector.path(layer)  # refuses unsupported layers and activations now
    if config.image:
        image, source = data.read_image(config.image), config.image
    else:
        from sklearn.datasets import load_sample_image

        image = load_sample_image("china.jpg")
        source = "sklearn.datasets.load_sample_image('china.jpg')"
    inputs = _Inputs(loaded, tuple(layers), data.resize(image, loaded.image_size), source,
                     projector)
    if config.top9:
        dataset = data.load_dataset(data_source)
        x, y = ((dataset.x_train, dataset.y_train) if config.top9_split == "train"
                else (dataset.x_test, dataset.y_test))
        chosen = data.stratified_subset(y, config.top9_images, config.seed)
        inputs.dataset_images = x[chosen]
        inputs.dataset_names = tuple(f"{config.top9_split}/{dataset.class_names[y[i]]}/{i:05d}"
                                     for i in chosen)
    return inputs


def _write_outputs(run, config, inputs: _Inputs) -> None:
    """Project, then write the figures, the table and the raw projections."""
    from nnvisual import deconv
    from nnvisual.plots import deconv as plots

    model, prepare = inputs.loaded.model, _prepare(inputs.loaded)
    results = deconv.project_layers(model, prepare(inputs.image[None])[0], inputs.layers,
                                    config.top_k, config.mode, config.method, inputs.projector)
    run.manifest.update(image=inputs.image_source, layers=list(inputs.layers),
                        display="display.deprocess per panel: (x - mean) / std * 0.1 + 0.5, "
                                "clipped to [0, 1]")
    for result in results:
        run.write_figure(f"figures/{result.layer}.png",
                         plots.layer_figure(inputs.image, result, config.method, config.mode))
    run.write_figure("figures/overview.png", plots.overview_figure(
        inputs.image, results, config.method, config.mode, inputs.loaded.name))
    run.write_csv("tables/channels.csv",
                  ["layer", "rank", "channel", "activation", "row", "col",
                   "rf_top", "rf_left", "rf_bottom", "rf_right"],
                  [(r.layer, rank, r.channels[rank], r.activations[rank], *r.positions[rank],
                    *r.boxes[rank]) for r in results for rank in range(len(r.channels))])
    arrays = {"image": inputs.image}
    for r in results:
        arrays.update({r.layer: r.projections, f"{r.layer}_channels": r.channels})
    run.write_npz("projections.npz", **arrays)
    if config.top9:
        _write_top9(run, config, inputs, {r.layer: r.channels for r in results}, prepare)


def _write_top9(run, config, inputs: _Inputs, channels_by_layer, prepare) -> None:
    import numpy as np

    from nnvisual import data, deconv
    from nnvisual.plots import deconv as plots

    images = inputs.dataset_images
    tops = deconv.top_images(inputs.loaded.model, images, prepare, channels_by_layer, 9,
                             config.mode, config.method, projector=inputs.projector)
    rows = []
    for top in tops:
        shown = np.stack([[data.resize(images[index], inputs.loaded.image_size) for index in row]
                          for row in top.indices])
        run.write_figure(f"figures/top9_{top.layer}.png",
                         plots.top9_figure(top, shown, config.method, config.mode))
        for i, channel in enumerate(top.channels):
            for rank, index in enumerate(top.indices[i]):
                rows.append((top.layer, channel, rank, inputs.dataset_names[index],
                             top.activations[i, rank], *top.positions[i, rank]))
    run.write_csv("tables/top9.csv",
                  ["layer", "channel", "rank", "image", "activation", "row", "col"], rows)
