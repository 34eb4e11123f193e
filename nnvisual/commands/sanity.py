"""``nnvisual sanity``: do the attribution maps depend on the model's weights, and on the pixels
that matter? (Adebayo et al. 2018; Petsiuk et al. 2018)."""

import click

from nnvisual.commands import options
from nnvisual.commands.attribute import require_images, shared_options
from nnvisual.config import SanityConfig


@click.command("sanity")
@shared_options(SanityConfig)
@options.setting_options(SanityConfig, "randomizations", "max_images", "curve_steps", "bootstrap")
def command(config_path, out, force, unsafe, **flags):
    """Model-parameter randomization (cascading from the top layer down, and independent per
    layer) with the similarity of each map to the original one (Spearman of |map| and of the
    signed map, SSIM, HOG), and deletion/insertion curves, with bootstrap intervals over images.

    Writes tables/randomization.csv, tables/faithfulness.csv, maps.npz,
    figures/cascading.png, figures/similarity_<mode>.png and figures/faithfulness.png. Example:

    \b
        nnvisual sanity --model results/train-plotka-.../ --images photos/ --max-images 16
    """
    from nnvisual import runs
    from nnvisual.api import _sanity as api
    from nnvisual.config import to_dict

    config = require_images(options.resolve_config(SanityConfig, config_path, **flags))
    inputs = api.prepare(config, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("sanity", inputs.explained.loaded.name, to_dict(config), out, force)
    with options.interruptible(run):
        api.compute(inputs, config, lambda done, total, stage: click.echo(f"  {stage}", err=True)
                    ).write(run)
    click.echo(f"wrote {run.path}")
