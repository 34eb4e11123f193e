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


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
