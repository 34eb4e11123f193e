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
    from nnvisual.steps import maximize as step

    config = options.resolve_config(MaximizeConfig, config_path, **flags)
    loaded = options.load_model(config.model, config.weights, unsafe)
    target = step.resolve_objective(loaded, config)
    names = loaded.class_names
    images = (step.load_retrain_images(config.retrain_on, data, loaded.image_size)
              if config.retrain_on else None)
    index = target.class_index
    run_name = target.label if target.terms is not None and index is None else index
    run = runs.create_run("maximize", f"{loaded.name}-{run_name}", to_dict(config), out, force)
    with options.interruptible(run):
        if index is not None:
            run.manifest["target_class"] = {"index": index, "name": names[index]}
        result = step.reconstruct(loaded, target, config, images)
        step.check_finite(result)
        _write_outputs(run, result, loaded.name, config, target, names)
        if images is not None:
            run.manifest["retrain"] = {"source": config.retrain_on, "images": len(images),
                                       "epochs_run": len(result.history["loss"])}
    summary = ", ".join(f"{phase} {rendering.probability[-1].mean():.3g}"
                        for phase, rendering in result.phases.items())
    what = f"class {index} ({names[index]})" if index is not None else config.objective
    click.echo(f"{what}, mean probability: {summary}")
    click.echo(f"wrote {run.path}")


def _write_outputs(run, result, model_name, config, target, names):
    """Write the reconstructions, tables, figures and fine-tuned model into ``run``."""
    from nnvisual.display import deprocess
    from nnvisual.plots import maximize as plots
    from nnvisual.steps import maximize as step

    shown = {phase: [deprocess(image) for image in r.images] for phase, r in result.phases.items()}
    for phase, images in shown.items():
        for i, image in enumerate(images):
            run.write_image(f"{phase}/{i:02d}.png", image)
    run.write_npz("reconstructions.npz", initial=result.initial,
                  **{phase: r.images for phase, r in result.phases.items()})
    run.write_csv("tables/trajectory.csv", *step.trajectory_table(result))
    run.write_csv("tables/final.csv", *step.final_table(result, names))
    label = target.label
    if target.terms is None:  # the study's figure titles, unchanged
        index, name = target.class_index, names[target.class_index]
        label = f"{index} ({name.replace('_', ' ')})"
        title = (f"Class {label} reconstructed from {model_name}: {config.objective} objective, "
                 f"{config.steps} steps of {config.step_size:g},\n"
                 f"{step.priors_description(config)}")
        what, ascent = f"class {config.objective} (objective)", f"class {label}"
    else:
        title = f"{label} maximized in {model_name}:\n{step.method_description(config)}"
        what, ascent = "objective", label
    class_label = ("its top class" if target.class_index is None else
                   f"{target.class_index} ({names[target.class_index].replace('_', ' ')})")
    probabilities = {phase: r.probability[-1] for phase, r in result.phases.items()}
    run.write_figure("figures/reconstructions.png",
                     plots.reconstructions_figure(shown, probabilities, title, class_label))
    run.write_figure("figures/trajectory.png", plots.trajectory_figure(
        {phase: r.objective for phase, r in result.phases.items()},
        {phase: r.probability for phase, r in result.phases.items()},
        what, f"Gradient ascent on {ascent}, {model_name}"))
    if target.channels:
        layer, channels = target.channels
        run.write_figure(f"figures/channels_{layer}.png", plots.channels_figure(
            shown["before"], channels, f"Channels of {layer} in {model_name}: "
            f"{step.method_description(config)}"))
    if result.retrained_model is not None:
        run.write_csv("tables/retrain_history.csv", *step.retrain_history_table(result.history))
        run.save_model("model_retrained.keras", result.retrained_model)
