"""``nnvisual sanity``: do the attribution maps depend on the model's weights, and on the pixels
that matter? (Adebayo et al. 2018; Petsiuk et al. 2018)."""

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.commands.attribute import shared_options, start
from nnvisual.config import SanityConfig


@click.command("sanity")
@shared_options
@click.option("--randomization", "randomizations", default=None, metavar="A,B",
              help=f"Randomizations, comma-separated: {', '.join(choices.RANDOMIZATIONS)} (default both).")
@click.option("--max-images", type=int, default=None, help="First images of --images used (default 16).")
@click.option("--curve-steps", type=int, default=None,
              help="Deletion/insertion steps (default 32).")
@click.option("--bootstrap", type=int, default=None, help="Bootstrap resamples (default 2000).")
def command(config_path, out, force, unsafe, **flags):
    """Model-parameter randomization (cascading from the top layer down, and independent per
    layer) with the similarity of each map to the original one (Spearman of |map| and of the
    signed map, SSIM, HOG), and deletion/insertion curves, with bootstrap intervals over images.

    Writes tables/randomization.csv, tables/faithfulness.csv, maps.npz,
    figures/cascading.png, figures/similarity_<mode>.png and figures/faithfulness.png. Example:

    \b
        nnvisual sanity --model results/train-plotka-.../ --images photos/ --max-images 16
    """
    from nnvisual.steps import sanity as step

    config = options.resolve_config(SanityConfig, config_path, **flags)
    inputs, run, unread = start("sanity", step, config, unsafe, out, force)
    with options.interruptible(run):
        for name, reason in unread + list(inputs.skipped):
            click.echo(f"warning: skipped {name}: {reason}", err=True)
        result = step.check(inputs, config, lambda label: click.echo(f"  {label}", err=True))
        _write_outputs(run, config, result)
    click.echo(f"wrote {run.path}")


def _write_outputs(run, config, result) -> None:
    import numpy as np

    from nnvisual.plots import sanity as plots
    from nnvisual.sanity.similarity import METRICS
    from nnvisual.steps import sanity as step

    inputs = result.inputs
    run.write_csv("tables/randomization.csv", *step.similarity_table(result, config))
    run.write_csv("tables/faithfulness.csv", *step.faithfulness_table(result, config))
    arrays = {f"original/{m}": v for m, v in result.original.items()}
    arrays.update({f"{mode}/{m}": v for mode, by in result.maps.items() for m, v in by.items()})
    arrays.update({f"{curve}/{m}": v for curve, by in result.curves.items() for m, v in by.items()})
    run.write_npz("maps.npz", images=np.array(inputs.names), classes=inputs.classes, **arrays)
    if "cascading" in result.maps:
        run.write_figure("figures/cascading.png", plots.cascading_grid(
            inputs.images[0], inputs.names[0], result.stages["cascading"],
            {m: v[0] for m, v in result.original.items()},
            {m: v[:, 0] for m, v in result.maps["cascading"].items()}))
    for mode in result.maps:
        run.write_figure(f"figures/similarity_{mode}.png", plots.similarity_curves(
            mode, result.stages[mode], {metric: step.summary(result, config, mode, metric)
                                        for metric in METRICS}))
    run.write_figure("figures/faithfulness.png", plots.faithfulness_curves(result.curves))
    run.manifest.update(images=list(inputs.names), stages=result.stages,
                        cam_layer=inputs.explained.settings.layer)
