"""``nnvisual.train``: one of the study's CIFAR-10 networks trained and tested (the ``train``
command, without its checkpoints)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual.api._common import Result, settings, with_defaults
from nnvisual.config import TrainConfig
from nnvisual.steps import train as step


@dataclasses.dataclass(frozen=True)
class Training(Result):
    """What :func:`train` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.TrainConfig`).
        model: the trained ``keras.Model`` (pass it to the other functions).
        computed: the step's result (:class:`nnvisual.steps.train.TrainResult`): the
            ``history`` (metric -> one value per epoch) and the ``test`` loss and accuracy.
        data: where the images came from; ``class_names``; ``images``: how many were used to
            fit, validate and test.
    Properties: ``tables`` (history, and Tables 1-2's metrics beside the paper's values).
    """

    command: ClassVar[str] = "train"
    function: ClassVar[str] = "train"
    config: TrainConfig
    model: object
    computed: step.TrainResult
    data: str
    data_description: str
    class_names: tuple[str, ...]
    images: dict[str, int]

    @property
    def run_name(self) -> str:
        return self.config.model

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
        history = self.computed.history
        run.manifest.update(data=self.data, data_description=self.data_description,
                            class_names=list(self.class_names), images=self.images,
                            precision=self.model.dtype_policy.name, history=history,
                            epochs_done=len(history["loss"]), test=self.computed.test)
        run.save_model("model.keras", self.model)
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_figure("figures/curves.png", self.plot())


@with_defaults(TrainConfig)
def train(model: str | None = None, data: str | None = None, *, verbose: int | str = "auto",
          **settings_) -> Training:
    """Train one of the study's CIFAR-10 networks and test it (Tables 1-2, Figure 2):
    ``plotka`` (Plotka 2017) or ``bonaccorso`` (Bonaccorso 2017), Adam, augmentation (rotation,
    shifts, flips) and early stopping on the training loss as in the paper.

    Parameters:
        model: ``"plotka"`` or ``"bonaccorso"`` (the config's default when None).
        data: ``"cifar10"`` (Keras download) or an image folder ``DIR/{train,test}/<class>/``
            (default ``$NNVISUAL_DATA``, else cifar10).
        verbose: Keras' ``fit`` verbosity (``"auto"``, 0, 1 or 2).
        **settings: the ``train`` command's settings (:class:`nnvisual.config.TrainConfig`):
            ``epochs``, ``lr``, ``batch_size``, ``val_split``, ``augment``, ``subset`` (a quick
            run on N stratified images), ``deterministic``, ``precision``, ``seed``, ...

    Returns:
        :class:`Training`: ``.model`` (the trained ``keras.Model``), ``.computed.history``,
        ``.computed.test``, ``.tables``, ``.plot()`` (a matplotlib Figure), ``.save(path)``
        (a complete ``train`` run folder: its ``model.keras`` loads with
        ``nv.load_model(path)`` and ``--model PATH``).

    Example:
        >>> import nnvisual as nv
        >>> run = nv.train("plotka", "cifar10", epochs=1, subset=500)
        >>> sorted(run.computed.test)
        ['accuracy', 'loss']
    """
    from nnvisual import data as datasets
    from nnvisual import distribute, streaming, training

    chosen = {} if model is None else {"model": model}
    config = settings(TrainConfig, "train", {**settings_, **chosen})
    if config.deterministic:
        step.enable_determinism(config.seed)
    source = datasets.resolve_source(data)
    dataset, _streamed = streaming.open_dataset(source, config.cache, config.memory_budget_mb)
    dataset, split = training.training_split(dataset, config)
    with distribute.scope(config.distribute, config.batch_size):
        network = training.new_model(config, split)
        computed = step.train(network, dataset, split, config, verbose=verbose)
    return Training(config, network, computed, source, dataset.source, dataset.class_names,
                    {"fit": len(split.x_fit), "validation": len(split.x_val),
                     "test": len(dataset.x_test)})
