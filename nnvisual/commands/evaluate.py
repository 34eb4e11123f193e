"""``nnvisual evaluate``: how good each method's maps are, by the metrics the field uses."""

import click

from nnvisual.commands import options
from nnvisual.commands.attribute import shared_options
from nnvisual.config import EvaluateConfig

SETTINGS = ("metrics", "maps", "masks", "max_images", "bootstrap", "eval_steps", "eval_runs",
            "eval_subset", "eval_patch", "eval_regions", "eval_road_noise", "eval_samples",
            "eval_radius", "eval_shift", "eval_smooth_samples", "eval_smooth_noise", "eval_bins")


@click.command("evaluate")
@shared_options(EvaluateConfig)
@options.setting_options(EvaluateConfig, *SETTINGS)
def command(config_path, out, force, unsafe, **flags):
    """Judge attribution maps by the metrics the field uses (faithfulness: ROAD, faithfulness
    correlation, pixel flipping, region perturbation, deletion/insertion; complexity;
    robustness; randomisation; axiomatic; localisation with --masks), each the mean over the
    images with a bootstrap interval. The maps are computed here, or read from an `attribute`
    run (--maps RUN_DIR).

    Writes tables/metrics.csv (method, metric, value, low, high, n), values.npz (each value per
    image) and figures/ranking.png. Example:

    \b
        nnvisual evaluate --model efficientnet-lite0 --images photos/ \\
            --method saliency,gradcam --metric road-morf,sparseness --out results/eval
    """
    from nnvisual import runs
    from nnvisual.api import _evaluate as api
    from nnvisual.config import to_dict

    config = options.resolve_config(EvaluateConfig, config_path, **flags)
    if config.images is None and config.maps is None:
        raise click.UsageError("give --images PATH (an image file or a folder), or --maps RUN_DIR")
    inputs = api.prepare(config, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("evaluate", inputs.explained.loaded.name, to_dict(config), out, force)
    with options.interruptible(run):
        api.compute(inputs, config, lambda done, total, label: click.echo(f"  {label}", err=True)
                    ).write(run)
    click.echo(f"wrote {run.path}")
