"""Benchmark `nnvisual maximize`'s gradient ascent against two baselines, in one process.

n reconstructions x S steps of the class logit, no regularizers, on plotka (random weights,
32x32) and VGG16 (weights=None, 224x224):

- nnvisual: the n images as one batch in one compiled step (nnvisual.optvis.render);
- seed: the study's approach, one image at a time with an uncompiled (eager) step (baseline);
- tf-keras-vis: ``ActivationMaximization`` (its default RMSprop optimizer; no input modifiers,
  no regularizers, no clipping), when the package is installed (``pip install -e .[bench]``).

Rates are image-steps (n x S) per second of the median of ``repeats`` alternating runs, each
including tracing/compilation (what a user waits for). The mean class logit of the returned
images shows that the methods reach the same objective (the seed's loop is the same update
rule; its images agree with nnvisual's to float32 rounding for the first steps, then drift
apart where a max-pool switch or a ReLU flips).

    python scripts/bench_maximize.py [--quick] [--n 5] [--steps 50] [--vgg-steps 5] [--repeats 3]

Quality (docs/feature-visualization.md): ``--quality TRAIN_RUN [--transfer TRAIN_RUN]`` makes
n = 8 images of each of five CIFAR classes with three methods (pixels without priors, pixels with
priors, lucid's fft + decorrelated colour + standard transforms) and prints, per method and class,
the class probability of the final images, under 32 random standard transformations, and under
the ``--transfer`` network that never saw the optimization; figures go to ``--figures DIR``.
"""

import bench_harness
from bench_harness import Row

SIZES = {"default": {"n": 5, "steps": 50, "vgg_steps": 5, "repeats": 3},
         "quick": {"n": 2, "steps": 10, "vgg_steps": 1, "repeats": 1}}
CLASS_INDEX = {"plotka": 3, "vgg16": 284}
STEP_SIZE = 1.0


def seed_approach(objective, initial, steps, step_size):
    """One image at a time, eager: the study's loop (Chollet 2016), without compilation."""
    import keras
    import numpy as np

    from nnvisual.gradients import value_and_gradient
    from nnvisual.optvis.render import normalized_ascent

    results = []
    for image in initial:
        x = keras.ops.convert_to_tensor(image[None])
        for _ in range(steps):
            _, gradient = value_and_gradient(lambda x: keras.ops.mean(objective(x)[0]), x)
            x = normalized_ascent(x, gradient, step_size)
        results.append(keras.ops.convert_to_numpy(x)[0])
    return np.stack(results)


def tf_keras_vis_approach(objective, initial, steps, step_size):
    """tf-keras-vis ActivationMaximization on the same logits (RMSprop, its default optimizer)."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    inputs = keras.Input(initial.shape[1:])
    preprocessed = inputs if objective.preprocess is None else objective.preprocess(inputs)
    # the same logits; the inputs a list, as tf-keras-vis passes them
    model = keras.Model([inputs], objective.scores(preprocessed)[0])
    maximization = ActivationMaximization(model, clone=False)
    score = CategoricalScore([objective.class_index] * len(initial))
    return maximization(score, seed_input=initial, steps=steps, input_range=(None, None),
                        input_modifiers=[], regularizers=[],
                        optimizer=tf.keras.optimizers.RMSprop(learning_rate=step_size, rho=0.999))


def run(n: int, steps: int, vgg_steps: int, repeats: int) -> list[Row]:
    """Rows per model: image-steps/s of each method, and the mean final class logit."""
    import functools
    import importlib.util

    import keras
    import numpy as np

    from nnvisual.models import build_plotka, load_vgg16
    from nnvisual.optvis import ClassObjective, initial_images, render

    methods = {"seed (eager, 1 image at a time)": seed_approach,
               "nnvisual": lambda *args: render(*args).images}
    if importlib.util.find_spec("tf_keras_vis"):
        methods["tf-keras-vis"] = tf_keras_vis_approach
    keras.utils.set_random_seed(0)
    vgg = load_vgg16("none")
    models = {"plotka": (build_plotka(10), (32, 32), None, steps),
              "vgg16": (vgg.model, vgg.image_size, vgg.preprocess, vgg_steps)}
    rows = []
    for name, (model, size, preprocess, model_steps) in models.items():
        objective = ClassObjective(model, CLASS_INDEX[name], "logit", preprocess)
        initial = initial_images("paper", size, 0, range(n))
        comparison = bench_harness.alternate(
            {label: functools.partial(method, objective, initial, model_steps, STEP_SIZE)
             for label, method in methods.items()}, repeats, warm_up=False)
        benchmark = f"maximize {name} {n}x{model_steps}"
        rows += bench_harness.rate_rows(benchmark, "image-steps", n * model_steps, comparison,
                                        "seed (eager, 1 image at a time)")
        rows += [Row(benchmark, label, "final logit (mean)",
                     float(keras.ops.convert_to_numpy(objective(np.asarray(images))[0]).mean()))
                 for label, images in comparison.outputs.items()]
    return rows


QUALITY_CLASSES = (3, 0, 1, 6, 8)  # cat, airplane, automobile, frog, ship
QUALITY_METHODS = {
    "pixel, no priors": {"step_size": 1.0},
    "pixel + priors": {"step_size": 1.0, "l2_decay": 0.01, "jitter": 2, "blur_every": 4,
                       "tv_weight": 0.01, "clip": True},
    "fft + decorrelate + standard transforms": {"param": "fft", "decorrelate": True,
                                                "transforms": "standard"},
}


def quality(model_run: str, transfer_run: str | None, figures: str, steps: int = 128,
            only: str = "") -> None:
    """Print the quality table (Markdown) and save one reconstruction figure per method/class
    (the methods whose name contains ``only``)."""
    from pathlib import Path

    import numpy as np

    from nnvisual.commands.options import load_model
    from nnvisual.config import MaximizeConfig
    from nnvisual.display import deprocess
    from nnvisual.plots.maximize import reconstructions_figure
    from nnvisual.steps import maximize as step

    loaded = load_model(model_run, "imagenet")
    other = load_model(transfer_run, "imagenet") if transfer_run else None
    Path(figures).mkdir(parents=True, exist_ok=True)
    print("| method | class | probability | under 32 standard transforms | transfer |")
    print("|---|---|---|---|---|")
    for method, settings in QUALITY_METHODS.items():
        if only not in method:
            continue
        for index in QUALITY_CLASSES:
            config = MaximizeConfig(model=model_run, target_class=str(index), n=8, steps=steps,
                                    seed=0, **settings)
            images = step.reconstruct(loaded, index, config).phases["before"].images
            plain = loaded.model.predict(images, verbose=0)[:, index]
            robust = step.robust_probability(loaded.model, loaded.preprocess, images, index)
            moved = (other.model.predict(images, verbose=0)[:, index].mean() if other else np.nan)
            name = loaded.class_names[index]
            print(f"| {method} | {index} ({name}) | {plain.mean():.3f} | {robust.mean():.3f} | "
                  f"{moved:.3f} |", flush=True)
            slug = method.split(",")[0].split(" ")[0] + ("-priors" if "priors" in method
                                                          and "no" not in method else "")
            figure = reconstructions_figure({"before": [deprocess(i) for i in images]},
                                            {"before": plain}, f"{method}, {steps} steps",
                                            f"{index} ({name})")
            figure.savefig(Path(figures) / f"{slug}-{name}.png", dpi=80)
            np.save(Path(figures) / f"{slug}-{name}.npy", images)


if __name__ == "__main__":
    import sys

    if "--quality" in sys.argv:
        arguments = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
        quality(arguments["--quality"], arguments.get("--transfer"),
                arguments.get("--figures", "quality-figures"), int(arguments.get("--steps", 128)),
                arguments.get("--only", ""))
    else:
        bench_harness.main(__doc__.splitlines()[0], run, SIZES)
