"""``nnvisual.train``: one of the study's CIFAR-10 networks trained and tested (the ``train``
command, without its checkpoints)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual.api._common import Result, settings, with_settings
from nnvisual.config import TrainConfig
from nnvisual.steps import train as step

COMMAND_ONLY = ("explain", "tensorboard")  # settings that write into the command's run folder


@dataclasses.dataclass(frozen=True)
class TrainInputs:
    """The data to train on: where it came from, the dataset (in memory or ``streamed`` from
    its files) and its fit/validation split."""

    source: str
    dataset: object  # nnvisual.data.Dataset
    streamed: bool
    split: object  # nnvisual.training.Split

    def facts(self) -> dict:
        """What a run's manifest records about the data (a resume reads ``data`` back)."""
        return {"data": self.source, "data_description": self.dataset.source,
                "data_streamed": self.streamed, "class_names": list(self.dataset.class_names),
                "images": {"fit": len(self.split.x_fit), "validation": len(self.split.x_val),
                           "test": len(self.dataset.x_test)}}


@dataclasses.dataclass(frozen=True)
class Training(Result):
    """What :func:`train` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.TrainConfig`).
        model: the trained ``keras.Model`` (pass it to the other functions).
        computed: the step's result (:class:`nnvisual.steps.train.TrainResult`): the
            ``history`` (metric -> one value per epoch) and the ``test`` loss and accuracy.
        inputs: the data (:class:`TrainInputs`): ``source``, ``dataset``, ``split``.
        devices: the devices of ``distribute="data-parallel"`` (None: the default device).
    Properties: ``class_names``, ``tables`` (history, and Tables 1-2's metrics beside the
    paper's values).
    """

    command: ClassVar[str] = "train"
    function: ClassVar[str] = "train"
    config: TrainConfig
    model: object
    computed: step.TrainResult
    inputs: TrainInputs
    devices: list | None = None

    @property
    def run_name(self) -> str:
        from nnvisual.training import multihost

        return multihost.run_name(self.config)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(self.inputs.dataset.class_names)

    @property
    def tables(self) -> dict[str, tuple]:
        return {"history": step.history_table(self.computed.history),
                "metrics": step.metrics_table(self.config.model, self.computed)}

    def plot(self):
        """The training curves (the study's Figure 2); a matplotlib Figure."""
        from nnvisual.plots.training import training_curves

        precision = self.model.dtype_policy.name
        return training_curves(self.computed.history,
                               step.curves_title(self.config, self.computed.history, precision))

    def write(self, run) -> None:
        run.save_model("model.keras", self.model)
        self.write_results(run)

    def write_results(self, run) -> None:
        """Everything but ``model.keras`` (which the command moves from its last checkpoint):
        the manifest's facts, the tables and the curves."""
        history = self.computed.history
        run.manifest.update(self.inputs.facts())
        run.manifest.update(precision=self.model.dtype_policy.name, devices=self.devices,
                            history=history, epochs_done=len(history["loss"]),
                            test=self.computed.test)
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_figure("figures/curves.png", self.plot())


def prepare(config: TrainConfig, data: str | None = None) -> TrainInputs:
    """The data of ``config`` (``data``: ``"cifar10"`` or an image folder, default
    ``$NNVISUAL_DATA``), opened and split, with ``config.deterministic`` set up. Every
    UserError about the data happens here."""
    from nnvisual import data as datasets
    from nnvisual import training
    from nnvisual.data import streaming

    if config.deterministic:
        step.enable_determinism(config.seed)
    source = datasets.resolve_source(data)
    dataset, streamed = streaming.open_dataset(source, config.cache, config.memory_budget_mb)
    dataset, split = training.training_split(dataset, config)
    return TrainInputs(source, dataset, streamed, split)


def compute(inputs: TrainInputs, config: TrainConfig, model, history: dict | None = None,
            on_epoch_end=lambda *args: None, stop=None, verbose: int | str = "auto",
            devices: list | None = None, callbacks=()) -> Training:
    """``model`` (a new one of :func:`nnvisual.training.new_model`, or a checkpoint after
    ``history``'s epochs) trained on prepared ``inputs`` and tested; ``on_epoch_end``, ``stop``
    and Keras ``callbacks`` as :func:`nnvisual.steps.train.train` takes them."""
    computed = step.train(model, inputs.dataset, inputs.split, config, history, on_epoch_end,
                          stop, verbose=verbose, callbacks=callbacks)
    return Training(config, model, computed, inputs, devices)


@with_settings(TrainConfig)
def train(model: str | None = None, data: str | None = None, *, verbose: int | str = "auto",
          callbacks=(), **settings_) -> Training:
    """Train one of the study's CIFAR-10 networks and test it (Tables 1-2, Figure 2):
    ``plotka`` (Plotka 2017) or ``bonaccorso`` (Bonaccorso 2017), Adam, augmentation (rotation,
    shifts, flips) and early stopping on the training loss as in the paper.

    Parameters:
        model: ``"plotka"`` or ``"bonaccorso"`` (the config's default when None).
        data: ``"cifar10"`` (Keras download) or an image folder ``DIR/{train,test}/<class>/``
            (default ``$NNVISUAL_DATA``, else cifar10).
        verbose: Keras' ``fit`` verbosity (``"auto"``, 0, 1 or 2).
        callbacks: Keras callbacks for ``fit``, e.g. ``nv.callbacks.Attributions(images,
            out="explain")`` (what ``explain`` and ``tensorboard`` do in the command).
        **settings: the ``train`` command's settings, listed below with their defaults
            (``explain``, ``explain_methods``, ``explain_every`` and ``tensorboard`` are the
            command's: pass ``callbacks`` instead).

    Returns:
        :class:`Training`: ``.model`` (the trained ``keras.Model``), ``.computed.history``,
        ``.computed.test``, ``.tables``, ``.plot()`` (a matplotlib Figure), ``.save(path)``
        (a complete ``train`` run folder: its ``model.keras`` loads with
        ``nv.load_model(path)`` and ``--model PATH``).

    Example (``folder``: ``"cifar10"`` or an image folder; here 3 classes of 32x32 images):
        >>> import nnvisual as nv
        >>> run = nv.train("plotka", folder, num_classes=3, epochs=1, batch_size=8, verbose=0)
        >>> run.class_names, sorted(run.computed.test)
        (('cat', 'dog', 'frog'), ['accuracy', 'loss'])
        >>> run.model.output_shape
        (None, 3)
        >>> figure = run.plot()
    """
    from nnvisual import training
    from nnvisual.errors import UserError, named
    from nnvisual.training import distribute, multihost

    given = [name for name in COMMAND_ONLY if settings_.get(name) not in (None, False)]
    if given:
        raise UserError(f"{named(given[0])} is the train command's; from Python pass "
                        f"callbacks=[nv.callbacks.Attributions(images, ...)] (docs/callbacks.md)")
    chosen = {} if model is None else {"model": model}
    config = multihost.resolve(settings(TrainConfig, "train", {**settings_, **chosen}))
    multihost.join(config)  # the other processes, before anything runs on a device
    inputs = prepare(config, data)
    with distribute.scope(config.distribute, config.batch_size, len(inputs.split.x_fit)) as devices:
        network = training.new_model(config, inputs.split)
        return compute(inputs, config, network, verbose=verbose, devices=devices,
                       callbacks=list(callbacks))
