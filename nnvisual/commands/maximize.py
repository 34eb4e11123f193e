"""``nnvisual maximize``: class reconstruction by activation maximization, and the retraining
experiment (docs/study.md; Algorithm 1 and Figure 5). The experiment is ``steps.maximize``."""

import click

from nnvisual.commands import options
from nnvisual.config import MaximizeConfig, to_dict


@click.command("maximize")
@options.config_option
@options.setting_options(MaximizeConfig, "model", "weights", "image_size", "output")
@options.unsafe_option
@options.setting_options(MaximizeConfig, "target_class", "n", "steps", "step_size", "objective",
                         "optimizer", "param", "decorrelate", "learning_rate", "transforms",
                         "diversity", "diversity_layer", "channel_grid", "init", "l2_decay",
                         "tv_weight", "jitter", "blur_every", "clip", "retrain_on", "retrain_epochs",
                         "seed")
@options.data_option
@options.out_option
@options.force_option
def command(config_path, out, force, data, unsafe, **flags):
    """Synthesize images that a model scores as one class, from noise, by gradient ascent.

    Example: nnvisual maximize --model results/train-plotka-... --class 284
    --retrain-on cifar10:cat -n 5 (reconstructions before and after fine-tuning).
    """
    from nnvisual import runs
    from nnvisual.api import _maximize as api

    config = options.resolve_config(MaximizeConfig, config_path, **flags)
    inputs = api.prepare(config, data=data, unsafe=unsafe)  # every UserError, before the run folder
    run = runs.create_run("maximize", api.run_name(inputs), to_dict(config), out, force)
    with options.interruptible(run), options.progress_bar("maximizing") as progress:
        result = api.compute(inputs, config, progress)
        result.write(run)
    summary = ", ".join(f"{phase} {rendering.probability[-1].mean():.3g}"
                        for phase, rendering in result.computed.phases.items())
    index = inputs.target.class_index
    what = (f"class {index} ({inputs.loaded.class_names[index]})" if index is not None
            else inputs.target.label)
    click.echo(f"{what}, mean probability: {summary}")
    click.echo(f"wrote {run.path}")
