"""Benchmark: what ``train --explain`` costs per epoch, as a fraction of the epoch (goal <= 5%).

plotka trains on CIFAR-10 as ``nnvisual train`` does (the study's settings, the default
precision) for ``epochs`` epochs on ``fit_images`` images (35,000: the study's whole fitting
split), with ``nv.callbacks.Attributions`` explaining ``images`` test cats by Grad-CAM after
every epoch, as ``--explain`` does. Each epoch's seconds are split into the training (Keras'
epoch, validation included) and the explaining (the callback's ``on_epoch_end``: the model
loaded, its inference copy made and traced, the maps, the grid drawn and written); the check
the callback makes once before the first epoch is reported on its own. Rows: the median over
the epochs.

    NNVISUAL_DATA=~/.cache/nnvisual-data/cifar10-jpeg python scripts/bench_explain.py [--quick]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

SIZES = {"default": {"fit_images": 35000, "epochs": 3, "images": 8},
         "quick": {"fit_images": 500, "epochs": 2, "images": 4}}
TRAINING = "training epoch (without explaining)"
EXPLAINING = "explaining (Grad-CAM, after the epoch)"


def run(fit_images: int, epochs: int, images: int) -> list[Row]:
    """Rows: seconds of an epoch's training, of its explaining, and their ratio."""
    import statistics
    import tempfile
    from pathlib import Path

    import nnvisual as nv
    from nnvisual import data

    cats, _ = data.load_image_source("cifar10:cat", None, (32, 32))
    explain = nv.callbacks.Attributions(cats[:images], "gradcam", out=Path(tempfile.mkdtemp()),
                                        class_names=data.CIFAR10_CLASSES)
    timed = timed_callback(explain)
    subset = round(fit_images / 0.7)  # the validation split holds out 30%
    result = nv.train("plotka", None, epochs=epochs, subset=subset, verbose=0,
                      early_stopping_monitor="none", callbacks=[timed])
    whole = result.computed.history["seconds"]  # each epoch, the callbacks' work included
    training = [total - spent for total, spent in zip(whole, timed.seconds, strict=True)]
    benchmark = (f"explain plotka {len(result.inputs.split.x_fit)} images/epoch, {images} Grad-CAM "
                 f"maps, {result.model.dtype_policy.name}")
    median_training, median_explaining = statistics.median(training), statistics.median(timed.seconds)
    return [Row(benchmark, TRAINING, "seconds per epoch", median_training, 1.0),
            Row(benchmark, EXPLAINING, "seconds per epoch", median_explaining,
                median_explaining / median_training),
            Row(benchmark, "explaining / training", "fraction of the epoch",
                median_explaining / median_training),
            Row(benchmark, "check before the first epoch", "seconds", timed.setup)]


def timed_callback(inner):
    """A Keras callback running ``inner``, timing its ``on_epoch_end`` (``.seconds``, one per
    epoch) and its ``on_train_begin`` (``.setup``)."""
    import time

    import keras

    class Timed(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.setup = [], 0.0

        def set_model(self, model):
            super().set_model(model)
            inner.set_model(model)

        def on_train_begin(self, logs=None):
            start = time.perf_counter()
            inner.on_train_begin(logs)
            self.setup = time.perf_counter() - start

        def on_epoch_begin(self, epoch, logs=None):
            inner.on_epoch_begin(epoch, logs)

        def on_epoch_end(self, epoch, logs=None):
            start = time.perf_counter()
            inner.on_epoch_end(epoch, logs)
            self.seconds.append(time.perf_counter() - start)

        def on_train_end(self, logs=None):
            inner.on_train_end(logs)

    return Timed()


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
