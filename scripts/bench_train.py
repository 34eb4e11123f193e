"""Training throughput of nnvisual's training against the straightforward Keras baseline.

Baseline: ``model.fit`` on NumPy arrays, float32, with the study's augmentation done by Keras
preprocessing layers placed in front of the same network (so it runs inside the training step,
on the CPU). nnvisual: ``nnvisual train`` as it runs by default, the ``tf.data`` pipeline of
``nnvisual.training`` (batches augmented in parallel, prefetched) feeding the network in the
precision ``--precision auto`` picks on this machine (``training.resolve_precision``), with the
TensorFlow settings nnvisual makes (oneDNN on x86-64, ``nnvisual.runtime.tensorflow_setup``: the
whole process, baseline included, runs with them; the baseline measured the same with Eigen's
kernels). Two more
variants separate the gains: the pipeline in float32, and the pipeline in float32 without
augmentation, the ceiling of what any input pipeline can reach at float32 (a model that never
waits). All train plotka (batch 128, the paper's augmentation) from the same initial weights on
the same CIFAR-10 training images: one untimed epoch each (tracing), then ``repeats`` epochs
each, alternating; images/s is the median epoch's (CPU ms/image: process CPU time, all threads;
CPU cores busy: CPU over wall time, the median epoch's). Then the test accuracy of each (the
same seed: equal within noise), the machine's matrix-multiply rate in float32 and bfloat16 (best
of 5, 2048x2048) and each variant's training FLOP rate as a fraction of the rate of the type it
computes in.

    NNVISUAL_DATA=~/.cache/nnvisual-data/cifar10-jpeg python scripts/bench_train.py [--quick]
"""

import importlib.util
import statistics

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

SIZES = {"default": {"images": 5000, "repeats": 7}, "quick": {"images": 500, "repeats": 1}}
BASELINE = "keras-baseline"
FLOAT32 = "nnvisual pipeline, float32"
CEILING = "nnvisual pipeline, float32, no augmentation (ceiling)"
PYTORCH = "pytorch loop, float32"  # the peer a user would compare with


def pytorch_peer(x, y, dataset, config, keras_plotka, mean, augmentation):
    """``(epoch, {PYTORCH: test accuracy})``: an epoch of plotka trained by a plain PyTorch loop
    (:mod:`nnvisual.testing.torch_plotka`), from the Keras variants' initial weights, with the
    same augmentation law, batch, Adam learning rate and max-norm constraint, torch's default
    threads."""
    import numpy as np
    import torch

    from nnvisual.testing import torch_plotka

    net = torch_plotka.torch_plotka(mean)
    torch_plotka.copy_keras_weights(keras_plotka, net)
    optimizer = torch.optim.Adam(net.parameters(), config.lr)
    rng = np.random.default_rng(config.seed)

    def epoch():
        torch_plotka.train_epoch(net, optimizer, x, y, config.batch_size, augmentation, rng)

    return epoch, {PYTORCH: lambda: torch_plotka.accuracy(net, dataset.x_test, dataset.y_test)}


def run(images: int, repeats: int) -> list[Row]:
    """Rows per variant: images/s, CPU ms/image, CPU cores busy, test accuracy, GFLOP/s and its
    fraction of the matmul peak of its type; and the peaks. Trains on ``images`` CIFAR-10
    training images and tests on images / 5 test images (stratified subsets, seed 0)."""
    import keras

    from nnvisual import data, training
    from nnvisual.config import TrainConfig
    from nnvisual.models.study import build_plotka

    dataset = data.subset_dataset(data.load_dataset(), images, seed=0)
    x, y = dataset.x_train, dataset.y_train
    config = TrainConfig(batch_size=128)
    precision = training.resolve_precision(config.precision)
    default = f"nnvisual ({precision})"

    def plotka(policy="float32"):  # the same initial weights for every variant
        keras.utils.set_random_seed(config.seed)
        with training.dtype_policy(policy):
            return build_plotka(mean=training.channel_means(x))

    augmentation = training.augmenter(config, seed=config.seed)
    baseline = training.compile_model(
        keras.Sequential([keras.Input(x.shape[1:]), *augmentation.layers, *plotka().layers]), config.lr)
    pipeline = training.input_pipeline(x, y, config.batch_size, shuffle_seed=config.seed,
                                       augment=training.augmenter(config, seed=config.seed))
    plain = training.input_pipeline(x, y, config.batch_size, shuffle_seed=config.seed)
    # each pipeline variant: (precision, feed)
    pipelines = {default: (precision, pipeline), FLOAT32: ("float32", pipeline), CEILING: ("float32", plain)}
    if precision == "float32":  # the default is the float32 pipeline itself
        del pipelines[FLOAT32]
    precisions = {BASELINE: "float32"} | {name: policy for name, (policy, _) in pipelines.items()}
    models = {BASELINE: baseline} | {name: training.compile_model(plotka(policy), config.lr)
                                     for name, (policy, _) in pipelines.items()}
    x_float = x.astype("float32")
    variants = {BASELINE: lambda: baseline.fit(x_float, y, batch_size=config.batch_size, verbose=0)}
    variants |= {name: (lambda model=models[name], feed=feed: model.fit(feed, shuffle=False, verbose=0))
                 for name, (_, feed) in pipelines.items()}
    torch_accuracy = {}
    if importlib.util.find_spec("torch"):  # the PyTorch peer (the reference extra)
        variants[PYTORCH], torch_accuracy = pytorch_peer(
            x, y, dataset, config, plotka(), training.channel_means(x), augmentation)
        precisions[PYTORCH] = "float32"
    comparison = bench_harness.alternate(variants, repeats, warm_up=True)
    rows = bench_harness.rate_rows("train", "images", len(x), comparison, BASELINE)
    cpu_ms = {name: seconds / len(x) * 1e3 for name, seconds in comparison.medians("cpu").items()}
    rows += bench_harness.ratio_rows("train", "CPU ms/image", cpu_ms, BASELINE)
    rows += [Row("train", name, "CPU cores busy", statistics.median(
        cpu / wall for cpu, wall in zip(comparison.cpu[name], comparison.wall[name], strict=True)))
        for name in variants]
    accuracy = {name: training.evaluate(model, dataset.x_test, dataset.y_test)["accuracy"]
                for name, model in models.items()} | {name: test() for name, test in torch_accuracy.items()}
    rows += bench_harness.ratio_rows("train", f"test accuracy, {repeats + 1} epochs", accuracy, BASELINE)
    peaks = {dtype: bench_harness.matmul_gflops(dtype) for dtype in ("float32", "bfloat16")}
    train_flops = 3 * bench_harness.forward_flops(baseline)  # forward + backward ~ 3x forward
    gflops = {name: len(x) / seconds * train_flops / 1e9 for name, seconds in comparison.medians().items()}
    rows += bench_harness.ratio_rows("train", "GFLOP/s", gflops, BASELINE)
    compute_dtypes = {name: "bfloat16" if policy == "mixed_bfloat16" else "float32"
                      for name, policy in precisions.items()}
    rows += [Row("train", name, f"fraction of {compute_dtypes[name]} matmul peak",
                 value / peaks[compute_dtypes[name]]) for name, value in gflops.items()]
    rows += [Row("train", "machine", f"{dtype} matmul GFLOP/s", peak) for dtype, peak in peaks.items()]
    return rows


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
