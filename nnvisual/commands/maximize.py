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
@click.option("--objective", type=click.Choice(choices.OBJECTIVES), default=None,
              help="Maximize the class score before (logit) or after the softmax.")
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
    index, name, names = step.resolve_target(loaded, config.target_class)
    images = (step.load_retrain_images(config.retrain_on, data, loaded.image_size)
              if config.retrain_on else None)
    run = runs.create_run("maximize", f"{loaded.name}-{index}", to_dict(config), out, force)
    with options.interruptible(run):
        run.manifest["target_class"] = {"index": index, "name": name}
        result = step.reconstruct(loaded, index, config, images)
        step.check_finite(result)
        _write_outputs(run, result, loaded.name, config, (index, name), names)
        if images is not None:
            run.manifest["retrain"] = {"source": config.retrain_on, "images": len(images),
                                       "epochs_run": len(result.history["loss"])}
    summary = ", ".join(f"{phase} {rendering.probability[-1].mean():.3g}"
                        for phase, rendering in result.phases.items())
    click.echo(f"class {index} ({name}), mean probability: {summary}")
    click.echo(f"wrote {run.path}")


def _write_outputs(run, result, model_name, config, target, names):
    """Write the reconstructions, tables, figures and fine-tuned model into ``run``."""
    from nnvisual.display import deprocess
    from nnvisual.plots import maximize as plots
    from nnvisual.steps import maximize as step

    index, name = target
    shown = {phase: [deprocess(image) for image in r.images] for phase, r in result.phases.items()}
    for phase, images in shown.items():
        for i, image in enumerate(images):
            run.write_image(f"{phase}/{i:02d}.png", image)
    run.write_npz("reconstructions.npz", initial=result.initial,
                  **{phase: r.images for phase, r in result.phases.items()})
    run.write_csv("tables/trajectory.csv", *step.trajectory_table(result))
    run.write_csv("tables/final.csv", *step.final_table(result, names))
    label = f"{index} ({name.replace('_', ' ')})"
    title = (f"Class {label} reconstructed from {model_name}: {config.objective} objective, "
             f"{config.steps} steps of {config.step_size:g},\n"
             f"{step.priors_description(config)}")
    run.write_figure("figures/reconstructions.png", plots.reconstructions_figure(
        shown, {phase: r.probability[-1] for phase, r in result.phases.items()}, title, label))
    run.write_figure("figures/trajectory.png", plots.trajectory_figure(
        {phase: r.objective for phase, r in result.phases.items()},
        {phase: r.probability for phase, r in result.phases.items()},
        f"class {config.objective} (objective)", f"Gradient ascent on class {label}, {model_name}"))
    if result.retrained_model is not None:
        run.write_csv("tables/retrain_history.csv", *step.retrain_history_table(result.history))
        run.save_model("model_retrained.keras", result.retrained_model)
