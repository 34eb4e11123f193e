"""Benchmark `nnvisual maximize`'s gradient ascent against two baselines, in one process.

n reconstructions x S steps of the class logit, no regularizers, on plotka (random weights,
32x32) and VGG16 (weights=None, 224x224):

- nnvisual: the n images as one batch in one compiled step (nnvisual.optvis.render);
- seed: the study's approach, one image at a time with an uncompiled (eager) step (baseline);
- tf-keras-vis: ``ActivationMaximization`` (its default RMSprop optimizer; no input modifiers,
  no regularizers, no clipping), when the package is installed (``pip install -e .[bench]``).

And lucid's recipe on a real network against its PyTorch port, torch-lucent (the anchor of
issue 15): the logit of class 284 on EfficientNet-Lite0 with its ImageNet weights, n images of
224x224 as a 1/f Fourier spectrum in decorrelated colour, lucid's standard transforms, Adam 0.05,
the same number of steps, in nnvisual (``optvis.render_parametrized``, the Keras backend in use)
and in lucent's ``render_vis`` on timm's ``tf_efficientnet_lite0`` holding the same weights (its
input scaled to -1..1 as Lite0 expects, instead of lucent's torchvision normalization), when
lucent, timm and torch are installed (the ``lucent`` and ``reference`` extras). Both runs'
images are scored by nnvisual's Lite0: the mean probability of class 284 (the two ports agree to
1e-4, tests/test_efficientnet_lite.py).

Rates are image-steps (n x S) per second of the median of ``repeats`` alternating runs, each
including tracing/compilation (what a user waits for). The mean class logit of the returned
images shows that the methods reach the same objective (the seed's loop is the same update
rule; its images agree with nnvisual's to float32 rounding for the first steps, then drift
apart where a max-pool switch or a ReLU flips).

    python scripts/bench_maximize.py [--quick] [--n 5] [--steps 50] [--vgg-steps 5]
        [--lite-n 2] [--lite-steps 32] [--repeats 3]
"""

import bench_harness
from bench_harness import Row

SIZES = {"default": {"n": 5, "steps": 50, "vgg_steps": 5, "lite_n": 2, "lite_steps": 32,
                     "repeats": 3},
         "quick": {"n": 2, "steps": 10, "vgg_steps": 1, "lite_n": 1, "lite_steps": 2,
                   "repeats": 1}}
CLASS_INDEX = {"plotka": 3, "vgg16": 284}
STEP_SIZE = 1.0
LUCID = {"param": "fft", "decorrelate": True, "transforms": "standard", "learning_rate": 0.05}


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


def timm_lite0():
    """timm's ``tf_efficientnet_lite0`` holding nnvisual's EfficientNet-Lite0 weights (the
    reference port of tests/), frozen; torchvision, which lucent imports, made importable."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.torch_reference import timm_lite0 as reference

    net = reference()
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net


def lucent_approach(net, n: int, steps: int):
    """torch-lucent's ``render_vis`` of class 284's logit on ``net`` (:func:`timm_lite0`):
    images (n, 224, 224, 3) in 0..255."""
    import torch
    from lucent.optvis import param, render, transform

    torch.manual_seed(0)
    transforms = [*transform.standard_transforms, lambda x: (x - 0.5) / 0.5]  # Lite0's -1..1
    images = render.render_vis(
        net, "classifier:284", lambda: param.image(224, batch=n, fft=True, decorrelate=True),
        transforms=transforms, thresholds=(steps,), preprocess=False, progress=False,
        show_image=False)
    return images[-1] * 255.0


def lucent_rows(n: int, steps: int, repeats: int) -> list[Row]:
    """nnvisual against torch-lucent on EfficientNet-Lite0: image-steps/s and the mean
    probability of class 284 that each run's images reach."""
    import functools

    import keras

    from nnvisual.config import MaximizeConfig
    from nnvisual.models import load_efficientnet_lite
    from nnvisual.steps.maximize import reconstruct

    lite0 = load_efficientnet_lite("efficientnet-lite0")
    config = MaximizeConfig(model=lite0.name, n=n, steps=steps, seed=0, **LUCID)

    def nnvisual():
        return reconstruct(lite0, 284, config).phases["before"].images

    net = timm_lite0()
    comparison = bench_harness.alternate(
        {"torch-lucent": functools.partial(lucent_approach, net, n, steps), "nnvisual": nnvisual},
        repeats, warm_up=False)
    benchmark = f"maximize lite0 fft {n}x{steps}"
    rows = bench_harness.rate_rows(benchmark, "image-steps", n * steps, comparison, "torch-lucent")
    for label, images in comparison.outputs.items():
        probabilities = lite0.model(lite0.preprocess(keras.ops.convert_to_tensor(images)))
        rows.append(Row(benchmark, label, "class 284 probability (mean)",
                        float(keras.ops.convert_to_numpy(probabilities)[:, 284].mean())))
    return rows


def run(n: int, steps: int, vgg_steps: int, lite_n: int, lite_steps: int,
        repeats: int) -> list[Row]:
    """Rows per model: image-steps/s of each method, and the mean final class logit; then
    nnvisual against torch-lucent on EfficientNet-Lite0 where lucent is installed."""
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
    if all(importlib.util.find_spec(name) for name in ("lucent", "timm", "torch")):
        rows += lucent_rows(lite_n, lite_steps, repeats)
    return rows


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
