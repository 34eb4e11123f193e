"""``nnvisual maximize``: class reconstruction by activation maximization, and the retraining
experiment (docs/study.md; Algorithm 1 and Figure 5). The experiment is ``steps.maximize``."""

import click

from nnvisual import choices
from nnvisual.commands import options
from nnvisual.config import MaximizeConfig, to_dict


@click.command("maximize")
@options.config_option
@options.model_option
@options.weights_option
@options.image_size_option
@options.unsafe_option
@click.option("--class", "target_class", default=None, metavar="INDEX|NAME",
              help='Class to reconstruct: an index (284) or a name ("Siamese cat", cat).')
@click.option("-n", "n", type=int, default=None, help="Number of reconstructions (default 5).")
@click.option("--steps", type=int, default=None, help="Gradient-ascent steps (default 20).")
@click.option("--step-size", type=float, default=None, help="Step size (default 1e-4).")
@click.option("--objective", default=None, metavar="logit|softmax|EXPRESSION",
              help="The --class score before (logit) or after the softmax, or a weighted sum "
                   "of terms: class:284[:softmax], channel:LAYER:C, neuron:LAYER:C[:Y:X], "
                   "layer:LAYER, direction:LAYER:[V1,...], diversity:LAYER; e.g. "
                   '"neuron:conv2:5 - 0.5*class:3".')
@click.option("--optimizer", type=click.Choice(choices.OPTIMIZERS), default=None,
              help="Update rule of raw-pixel ascent: study (the gradient over its RMS times "
                   "--step-size, the default) or adam (Adam at --step-size, as tf-keras-vis).")
@click.option("--param", type=click.Choice(choices.PARAMS), default=None,
              help="Optimize raw pixels (the study) or a 1/f-scaled Fourier spectrum (lucid).")
@click.option("--decorrelate/--no-decorrelate", default=None,
              help="Optimize in decorrelated colour through a sigmoid (lucid).")
@click.option("--lr", "learning_rate", type=float, default=None,
              help="Adam learning rate for --param fft or --decorrelate (default 0.05).")
@click.option("--transforms", default=None, metavar="none|standard|LIST",
              help="Random transformations each step: standard (lucid's) or e.g. "
                   "pad=4,jitter=2,scale=0.9:1.1,rotate=5.")
@click.option("--diversity", type=float, default=None,
              help="Weight of the diversity term (lucid): the n images differ.")
@click.option("--diversity-layer", default=None, metavar="LAYER",
              help="Layer whose Gram matrices the diversity term compares.")
@click.option("--channel-grid", default=None, metavar="LAYER[:C1,C2,...]",
              help="One image per channel of LAYER (the first n, or those listed), one batch: "
                   "figures/channels_<LAYER>.png.")
@click.option("--init", type=click.Choice(choices.INITS), default=None,
              help="Initial images: paper (noise in [0,1) + 100), uniform or gray.")
@click.option("--l2-decay", type=float, default=None, help="L2 decay per step (Yosinski 2015).")
@click.option("--tv-weight", type=float, default=None,
              help="Total-variation weight (Mahendran & Vedaldi 2015).")
@click.option("--jitter", type=int, default=None, help="Random shift in pixels (Mordvintsev 2015).")
@click.option("--blur-every", type=int, default=None, help="Blur every K steps (Yosinski 2015).")
@click.option("--clip/--no-clip", default=None, help="Clip pixels to 0..255 after each step.")
@click.option("--retrain-on", default=None, metavar="DIR|cifar10:CLASS",
              help="Fine-tune on these images (labelled --class), then reconstruct again.")
@click.option("--retrain-epochs", type=int, default=None, help="Fine-tuning epochs (default 10).")
@options.seed_option
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
