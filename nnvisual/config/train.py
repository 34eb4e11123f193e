"""``nnvisual train``'s settings (docs/study.md, "Training"; the defaults are the paper's for
plotka)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual import choices
from nnvisual.config.fields import (
    Config,
    cache_setting,
    check,
    check_cache,
    check_choice,
    memory_budget_setting,
    seed_setting,
    setting,
)
from nnvisual.errors import named
from nnvisual.models.study import BUILDERS


def _explain_methods_about() -> str:
    from nnvisual.attribution import methods

    return f"The methods of --explain, comma-separated: {methods.described()}"


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """`nnvisual train` (docs/study.md, "Training"; defaults are the paper's plotka settings)."""

    SECTION: ClassVar[str] = "train"
    model: str = setting("plotka", "Network to train: the study's plotka or bonaccorso, or vit-tiny "
                                  "(a small vision transformer, docs/vit.md)", choices=tuple(BUILDERS))
    num_classes: int = setting(10, "Width of the output layer; the class-284 experiment uses 1000")
    epochs: int = setting(10, "Epochs; the paper trains plotka 10, bonaccorso 250")
    lr: float = setting(1e-4, "Adam learning rate")
    batch_size: int = setting(128, "Batch size")
    val_split: float = setting(0.3, "Validation fraction")
    augment: bool = setting(True, "Augment the training images: random rotations, shifts and "
                                  "horizontal flips (rotation, shift, hflip)")
    rotation: float = setting(20.0, "Largest random rotation, degrees")
    shift: float = setting(0.2, "Largest random shift, a fraction of width and height")
    hflip: bool = setting(True, "Random horizontal flips")
    early_stopping_monitor: str = setting("loss", "What early stopping watches (the paper: the "
                                                  "training loss)",
                                          choices=choices.EARLY_STOPPING_MONITORS)
    early_stopping_min_delta: float = setting(0.001, "Smallest change that counts as an improvement")
    early_stopping_patience: int = setting(3, "Epochs without improvement before stopping")
    subset: int | None = setting(None, "Use N stratified training images (and N/5 test images) "
                                       "for a quick run", shown_default="all")
    seed: int = seed_setting()
    deterministic: bool = setting(False, "TensorFlow op determinism: the same --seed gives the "
                                         "same history (slower)", flag="--deterministic")
    precision: str = setting("auto", "Arithmetic (weights stay float32): auto is mixed_bfloat16 "
                                     "with TensorFlow on a CPU with Intel AMX, where it trains "
                                     "about 2x faster, else float32", choices=choices.PRECISIONS)
    cache: str = cache_setting("Image folders")
    memory_budget_mb: float = memory_budget_setting()
    distribute: str = setting("none", "data-parallel: each batch split evenly over all devices "
                                      "(JAX: keras.distribution.DataParallel; TensorFlow: "
                                      "MirroredStrategy)", choices=choices.DISTRIBUTIONS)
    # several processes or hosts (nnvisual.training.multihost); None: Keras' KERAS_DISTRIBUTION_* variables
    coordinator: str | None = setting(None, "Train on several processes or hosts (JAX; with "
                                            "--distribute data-parallel): where process 0 listens",
                                      metavar="HOST:PORT",
                                      shown_default="$KERAS_DISTRIBUTION_JOB_ADDRESSES")
    num_processes: int | None = setting(None, "How many processes train together",
                                        shown_default="$KERAS_DISTRIBUTION_NUM_PROCESSES, else 1")
    process_id: int | None = setting(None, "This process's index, 0 on the coordinator",
                                     shown_default="$KERAS_DISTRIBUTION_PROCESS_ID")
    coordinator_timeout: float = setting(60.0, "Seconds to wait for the coordinator and the "
                                               "other processes")
    # explaining while training (nnvisual.callbacks; docs/callbacks.md)
    explain: str | None = setting(None, "Explain while training: the attribution maps of these "
                                        "images (a file or a folder; a few, 4 to 16) after every "
                                        "explain_every epochs, as figures/explain/epoch-NNN.png",
                                  metavar="IMAGES")
    explain_methods: tuple[str, ...] = setting(("gradcam",), _explain_methods_about,
                                               metavar="A,B,...")
    explain_every: int = setting(1, "Explain after every N-th epoch", metavar="N")
    tensorboard: bool = setting(False, "Write TensorBoard summaries into tensorboard/ of the run "
                                       "folder: each epoch's loss and accuracy, and with --explain "
                                       "its grids and the maps' rank correlation with the previous "
                                       "ones (needs the tensorboard package)", flag="--tensorboard")

    def check(self):
        check_choice(self.model, "model", BUILDERS)
        check(self.num_classes >= 2, f"num_classes must be at least 2, got {self.num_classes}")
        check(self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}")
        check(self.lr > 0, f"lr must be positive, got {self.lr}")
        check(self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}")
        check(0 < self.val_split < 1, f"val_split must be in (0, 1), got {self.val_split}")
        check(0 <= self.rotation <= 180, f"rotation must be in [0, 180] degrees, got {self.rotation}")
        check(0 <= self.shift < 1, f"shift must be in [0, 1), got {self.shift}")
        check_choice(self.early_stopping_monitor, "early_stopping_monitor",
                     choices.EARLY_STOPPING_MONITORS)
        check(self.early_stopping_patience >= 0, "early_stopping_patience must be >= 0")
        check(self.subset is None or self.subset >= 1, f"subset must be at least 1, got {self.subset}")
        check_choice(self.precision, "precision", choices.PRECISIONS)
        check_cache(self.cache, self.memory_budget_mb)
        check_choice(self.distribute, "distribute", choices.DISTRIBUTIONS)
        if self.coordinator is not None:
            check_coordinator(self.coordinator)
        check(self.num_processes is None or self.num_processes >= 1,
              f"num_processes must be at least 1, got {self.num_processes}")
        check(self.process_id is None or self.process_id >= 0,
              f"process_id must be >= 0, got {self.process_id}")
        check(self.coordinator_timeout > 0,
              f"coordinator_timeout must be positive (seconds), got {self.coordinator_timeout}")
        self.check_explain()

    def check_explain(self):
        from nnvisual.attribution import methods

        check(len(self.explain_methods) >= 1, "give at least one method to explain_methods")
        for method in self.explain_methods:
            check_choice(method, "explain_methods", methods.names())
        check(self.explain_every >= 1, f"explain_every must be at least 1, got {self.explain_every}")


def check_coordinator(address: str) -> None:
    host, _, port = address.rpartition(":")
    check(bool(host) and port.isdigit() and 0 < int(port) < 65536,
          f"coordinator must be HOST:PORT (e.g. 10.0.0.1:1234), got '{address}'")


def check_cluster(distribute: str, coordinator: str | None, num_processes: int | None,
                  process_id: int | None) -> None:
    """Checks of the settings naming the processes that train together
    (:mod:`nnvisual.training.multihost`), once Keras' environment variables have filled in the
    unset ones."""
    if (num_processes or 1) == 1:
        check(coordinator is None and not process_id,
              "coordinator and process_id need num_processes above 1 (several training processes)")
        return
    check(coordinator is not None, f"{num_processes} training processes need the coordinator's "
                                   f"HOST:PORT ({named('coordinator', 'HOST:PORT')})")
    check_coordinator(coordinator)
    check(process_id is not None, "several training processes need this process's process_id "
                                  "(0 on the coordinator)")
    check(0 <= process_id < num_processes,
          f"process_id must be in [0, {num_processes - 1}] for {num_processes} processes, got {process_id}")
    check(distribute == "data-parallel", "several training processes need distribute: data-parallel")
