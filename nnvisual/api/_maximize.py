"""``nnvisual.maximize``: images synthesized by activation maximization, and the study's
retraining experiment (the ``maximize`` command)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from nnvisual.api._common import (
    Progress,
    Result,
    load_configured,
    model_setting,
    no_progress,
    settings,
    with_settings,
)
from nnvisual.config import MaximizeConfig
from nnvisual.steps import maximize as step


@dataclasses.dataclass(frozen=True)
class Maximization(Result):
    """What :func:`maximize` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.MaximizeConfig`).
        inputs: the model, the target (:class:`nnvisual.steps.maximize.Target`) and the
            fine-tuning images.
        computed: the step's result (:class:`nnvisual.steps.maximize.Reconstructions`):
            ``initial`` images, ``phases`` ("before", and "after" when retrained) each a
            :class:`~nnvisual.optvis.Rendering` (``images`` (n, H, W, 3) float in the model's
            0..255 space, ``objective`` and ``probability`` (steps + 1, n), ``top_class``),
            ``retrained_model`` and its ``history``.
    Properties: ``images`` (phase -> the float images), ``shown`` (phase -> uint8 images as
    displayed), ``arrays`` (``reconstructions.npz``) and ``tables`` (name -> (header, rows)).
    """

    command: ClassVar[str] = "maximize"
    function: ClassVar[str] = "maximize"
    config: MaximizeConfig
    inputs: step.MaximizeInputs
    computed: step.Reconstructions

    @property
    def run_name(self) -> str:
        return run_name(self.inputs)

    @property
    def images(self) -> dict[str, np.ndarray]:
        return {phase: rendering.images for phase, rendering in self.computed.phases.items()}

    @property
    def shown(self) -> dict[str, np.ndarray]:
        from nnvisual.plots import deprocess

        return {phase: np.stack([deprocess(image) for image in images])
                for phase, images in self.images.items()}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return {"initial": self.computed.initial, **self.images}

    @property
    def tables(self) -> dict[str, tuple]:
        names = self.inputs.loaded.class_names
        tables = {"trajectory": step.trajectory_table(self.computed),
                  "final": step.final_table(self.computed, names)}
        if self.computed.history is not None:
            tables["retrain_history"] = step.retrain_history_table(self.computed.history)
        return tables

    def plot(self, kind: str = "reconstructions"):
        """A matplotlib Figure: ``"reconstructions"`` (Figure 5: the images with their
        probability, before and after retraining), ``"trajectory"`` (objective and probability
        per step) or ``"channels"`` (the channel grid)."""
        from nnvisual.plots import maximize as plots

        config, target, name = self.config, self.inputs.target, self.inputs.loaded.name
        names = self.inputs.loaded.class_names
        phases = self.computed.phases
        if kind == "channels" and target.channels:
            layer, channels = target.channels
            return plots.channels_figure(self.shown["before"], channels, f"Channels of {layer} "
                                         f"in {name}: {plots.method_description(config)}")
        label = target.label
        if target.terms is None:  # the study's titles (Algorithm 1's steps and priors), or lucid's
            label = f"{target.class_index} ({names[target.class_index].replace('_', ' ')})"
            method = (f"\n{plots.method_description(config)}" if config.parametrized else
                      f" {plots.pixel_steps(config)},\n"
                      f"{plots.priors_description(config)}")
            title = f"Class {label} reconstructed from {name}: {config.objective} objective,{method}"
            what, ascent = f"class {config.objective} (objective)", f"class {label}"
        else:
            title = f"{label} maximized in {name}:\n{plots.method_description(config)}"
            what, ascent = "objective", label
        if kind == "trajectory":
            return plots.trajectory_figure(
                {phase: r.objective for phase, r in phases.items()},
                {phase: r.probability for phase, r in phases.items()},
                what, f"Gradient ascent on {ascent}, {name}")
        if kind != "reconstructions":
            raise ValueError(f"unknown figure {kind!r}: choose reconstructions, trajectory"
                             f"{', channels' if target.channels else ''}")
        class_label = ("its top class" if target.class_index is None else
                       f"{target.class_index} ({names[target.class_index].replace('_', ' ')})")
        return plots.reconstructions_figure(
            self.shown, {phase: r.probability[-1] for phase, r in phases.items()}, title,
            class_label)

    def write(self, run) -> None:
        from nnvisual import runs
        from nnvisual.models.heads import find_head

        target, config = self.inputs.target, self.config
        run.manifest["head"] = find_head(self.inputs.loaded.model, self.inputs.loaded.output).described()
        if target.class_index is not None:
            run.manifest["target_class"] = {"index": target.class_index,
                                            "name": self.inputs.loaded.class_names[target.class_index]}
        for phase, images in self.shown.items():
            for i, image in enumerate(images):
                run.write_image(f"{phase}/{i:02d}.png", image)
        run.write_npz("reconstructions.npz", **self.arrays)
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_figure("figures/reconstructions.png", self.plot("reconstructions"))
        run.write_figure("figures/trajectory.png", self.plot("trajectory"))
        if target.channels:
            run.write_figure(f"figures/channels_{runs.file_name(target.channels[0])}.png",
                             self.plot("channels"))
        if self.computed.retrained_model is not None:
            run.save_model("model_retrained.keras", self.computed.retrained_model)
            run.manifest["retrain"] = {"source": config.retrain_on,
                                       "images": len(self.inputs.retrain_images),
                                       "epochs_run": len(self.computed.history["loss"])}


def run_name(inputs: step.MaximizeInputs) -> str:
    """The run folder's name: the model's, then the class index (or the objective's label)."""
    target = inputs.target
    label = target.label if target.terms is not None and target.class_index is None \
        else target.class_index
    return f"{inputs.loaded.name}-{label}"


def prepare(config: MaximizeConfig, model=None, data: str | None = None,
            unsafe: bool = False) -> step.MaximizeInputs:
    """The checked inputs of ``config`` (its model, or ``model``; ``data`` resolves
    ``retrain_on``'s ``cifar10:<class>``). Every UserError happens here."""
    return step.prepare(load_configured(config, model, unsafe), config, data)


def compute(inputs: step.MaximizeInputs, config: MaximizeConfig,
            progress: Progress = no_progress) -> Maximization:
    """The reconstructions of prepared ``inputs``; UserError if the ascent diverged."""
    computed = step.reconstruct(inputs, config, progress)
    step.check_finite(computed)
    return Maximization(config, inputs, computed)


@with_settings(MaximizeConfig, "model")
def maximize(model, objective: int | str | None = None, *, data: str | None = None,
             unsafe: bool = False, progress: Progress | None = None,
             **settings_) -> Maximization:
    """Synthesize images that a model scores highly, from noise, by gradient ascent
    (activation maximization: Erhan et al. 2009; Simonyan et al. 2014; the study's Algorithm 1
    after Chollet 2016; lucid's parametrizations and transforms, Olah et al. 2017).

    With ``retrain_on``, the model is then fine-tuned (on a copy) on real images of the class
    and the images are synthesized again from the same start (the study's Figure 5).

    Parameters:
        model: a name, a path, a run folder, a ``keras.Model`` or :func:`load_model`'s result;
            never modified.
        objective: a class index (``284``), or a string: ``"logit"`` / ``"softmax"`` (the
            score of ``target_class`` before or after the softmax) or an expression, a weighted
            sum of ``class:C[:softmax]``, ``channel:LAYER:C``, ``neuron:LAYER:C[:Y:X]``,
            ``layer:LAYER``, ``direction:LAYER:[V1,...]``, ``diversity:LAYER`` terms, e.g.
            ``"neuron:conv2:5 - 0.5*class:3"``. Default: the ``logit`` of ``target_class``.
        data: the dataset that ``retrain_on="cifar10:<class>"`` is drawn from (``"cifar10"`` or
            an image folder; default ``$NNVISUAL_DATA``, else cifar10).
        unsafe: let a ``.keras`` file run Python code when loaded (trusted files only).
        progress: called as ``progress(done, total, label)`` as the ascent goes: ``done`` of
            ``total`` steps (over both phases when retrained; fine-tuning counts as one), at
            most 100 times a phase, ``label`` the phase, the step and the mean objective, e.g.
            ``"before: step 40/128, objective 12.3"``.
        **settings: the ``maximize`` command's settings, listed below with their defaults.

    Returns:
        :class:`Maximization`: ``.images`` / ``.shown`` (phase -> images), ``.computed``
        (trajectories, the fine-tuned copy), ``.tables``, ``.arrays``,
        ``.plot("reconstructions" | "trajectory" | "channels")`` (a matplotlib Figure),
        ``.save(path)`` (the run folder ``nnvisual maximize`` writes).

    Raises:
        TypeError: an unknown keyword. UserError: a bad value, class, layer or model, or an
        ascent that diverged.

    Example (``model``: e.g. ``nv.load_model("efficientnet-lite0")``; here a small CNN):
        >>> import nnvisual as nv
        >>> result = nv.maximize(model, 2, n=2, steps=10, param="fft", decorrelate=True,
        ...                      transforms="pad=2,jitter=2")
        >>> result.shown["before"].shape, result.shown["before"].dtype
        ((2, 32, 32, 3), dtype('uint8'))
        >>> figure = result.plot("trajectory")
    """
    if isinstance(objective, (int, np.integer)):
        settings_ = {**settings_, "target_class": str(objective)}
    elif objective is not None:
        settings_ = {**settings_, "objective": objective}
    config = settings(MaximizeConfig, "maximize", settings_, model=model_setting(model))
    return compute(prepare(config, model, data, unsafe), config, progress or no_progress)
