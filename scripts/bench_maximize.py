"""Benchmark `nnvisual maximize`'s gradient ascent against two baselines, in one process.

Seconds for n reconstructions x S steps of the class logit, no regularizers, on plotka (random
weights, 32x32) and VGG16 (weights=None, 224x224):

- nnvisual: the n images as one batch in one compiled step (nnvisual.optvis.render);
- seed: the study's approach, one image at a time with an uncompiled (eager) step;
- tf-keras-vis: ``ActivationMaximization`` (its default RMSprop optimizer; no input modifiers,
  no regularizers, no clipping), when the package is installed (``pip install tf-keras-vis``).

Times include tracing/compilation (what a user waits for). The last column, the mean class
logit of the returned images, shows that the methods reach the same objective (the seed's
loop is the same update rule; its images agree with nnvisual's to float32 rounding for the
first steps, then drift apart where a max-pool switch or a ReLU flips). Usage:
    python scripts/bench_maximize.py [--n 5] [--steps 200] [--vgg-steps 200]
"""

import argparse
import time

import keras
import numpy as np

from nnvisual.gradients import value_and_gradient
from nnvisual.models import build_plotka, load_vgg16
from nnvisual.optvis import ClassObjective, initial_images, render
from nnvisual.optvis.render import normalized_ascent

CLASS_INDEX = {"plotka": 3, "vgg16": 284}


def seed_approach(objective, initial, steps, step_size):
    """One image at a time, eager: the study's loop (Chollet 2016), without compilation."""
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
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    inputs = keras.Input(initial.shape[1:])
    preprocessed = inputs if objective.preprocess is None else objective.preprocess(inputs)
    model = keras.Model(inputs, objective.scores(preprocessed)[0])  # the same logits
    maximization = ActivationMaximization(model, clone=False)
    score = CategoricalScore([objective.class_index] * len(initial))
    return maximization(score, seed_input=initial, steps=steps, input_range=(None, None),
                        input_modifiers=[], regularizers=[],
                        optimizer=tf.keras.optimizers.RMSprop(learning_rate=1.0, rho=0.999))


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="steps on plotka")
    parser.add_argument("--vgg-steps", type=int, default=200, help="steps on VGG16")
    parser.add_argument("--step-size", type=float, default=1.0)
    args = parser.parse_args()
    try:
        import tf_keras_vis  # noqa: F401

        baselines = {"seed (eager, 1 image at a time)": seed_approach,
                     "tf-keras-vis ActivationMaximization": tf_keras_vis_approach}
    except ImportError:
        print("tf-keras-vis is not installed: benchmarking against the seed approach only")
        baselines = {"seed (eager, 1 image at a time)": seed_approach}

    keras.utils.set_random_seed(0)
    models = {"plotka": (build_plotka(10), (32, 32), None, args.steps)}
    vgg = load_vgg16("none")
    models["vgg16"] = (vgg.model, vgg.image_size, vgg.preprocess, args.vgg_steps)
    print(f"n = {args.n} reconstructions, class logit, step size {args.step_size:g}, "
          f"{keras.backend.backend()} backend, times include compilation\n")
    print(f"{'model':8} {'steps':>5}  {'method':38} {'seconds':>8}  {'x nnvisual':>10}  "
          "final logit (mean)", flush=True)
    for name, (model, size, preprocess, steps) in models.items():
        objective = ClassObjective(model, CLASS_INDEX[name], "logit", preprocess)
        initial = initial_images("paper", size, 0, range(args.n))
        methods = {"nnvisual (1 batch, compiled step)":
                   lambda *a: render(*a).images, **baselines}
        ours = None
        for label, method in methods.items():
            seconds, images = timed(method, objective, initial, steps, args.step_size)
            ours = ours or seconds
            final = keras.ops.convert_to_numpy(objective(np.asarray(images))[0]).mean()
            print(f"{name:8} {steps:5d}  {label:38} {seconds:8.2f}  {seconds / ours:10.2f}  "
                  f"{final:.4g}", flush=True)

if __name__ == "__main__":
    main()
