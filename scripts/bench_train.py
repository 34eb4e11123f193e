"""Training throughput of nnvisual's input pipeline against the straightforward Keras baseline.

Baseline: ``model.fit`` on NumPy arrays, with the study's augmentation done by Keras
preprocessing layers placed in front of the same network (so it runs inside the training step,
on the CPU). nnvisual: the ``tf.data`` pipeline of ``nnvisual.training`` (batches augmented in
parallel, prefetched). Both train plotka, batch 128, same images, same number of epochs, in the
same process, alternating, ``--repeats`` times; the median images/s and the ratio are printed.
Also prints the machine's float32 matrix-multiply rate and each variant's training FLOP rate as a
fraction of it. Usage: python scripts/bench_train.py [--images 6000] [--epochs 2] [--repeats 3]
"""

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from nnvisual import training
from nnvisual.config import TrainConfig
from nnvisual.models import build_plotka


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one image's forward pass through the Conv2D and Dense layers."""
    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels_out = layer.output.shape[1:]
            kh, kw, channels_in, _ = layer.kernel.shape
            flops += 2 * height * width * kh * kw * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * int(np.prod(layer.kernel.shape))
    return flops


def matmul_gflops(n=2048, repeats=5) -> float:
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    tf.linalg.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def baseline(x, y, config):
    augment = training.augmenter(config, seed=0)
    model = keras.Sequential([keras.Input((32, 32, 3)), *augment.layers,
                              *build_plotka(mean=training.channel_means(x)).layers])
    training.compile_model(model, config.lr)
    start = time.perf_counter()
    model.fit(x.astype("float32"), y, batch_size=config.batch_size, epochs=config.epochs, verbose=0)
    return len(x) * config.epochs / (time.perf_counter() - start)


def nnvisual_pipeline(x, y, config):
    model = training.compile_model(build_plotka(mean=training.channel_means(x)), config.lr)
    data = training.input_pipeline(x, y, config.batch_size, shuffle_seed=0,
                                   augment=training.augmenter(config, seed=0))
    start = time.perf_counter()
    model.fit(data, epochs=config.epochs, verbose=0)
    return len(x) * config.epochs / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, args.images)
    config = TrainConfig(epochs=args.epochs, batch_size=128)
    variants = {"keras-baseline": baseline, "nnvisual": nnvisual_pipeline}
    rates = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, run in variants.items():
            rates[name].append(run(x, y, config))
    peak = matmul_gflops()
    train_flops = 3 * forward_flops(build_plotka())  # forward + backward ~ 3x forward
    print(f"machine: float32 matmul {peak:.1f} GFLOP/s; plotka training {train_flops / 1e6:.0f} MFLOP/image")
    print(f"{'variant':<16}{'images/s':>10}{'ratio':>8}{'GFLOP/s':>10}{'of peak':>9}")
    base = statistics.median(rates["keras-baseline"])
    for name, values in rates.items():
        median = statistics.median(values)
        gflops = median * train_flops / 1e9
        print(f"{name:<16}{median:>10.0f}{median / base:>8.2f}{gflops:>10.1f}{gflops / peak:>9.1%}")


if __name__ == "__main__":
    main()
