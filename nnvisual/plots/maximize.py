"""Figures of ``nnvisual maximize``: the reconstructions (the study's Figure 5: before retraining
on the top row, after on the bottom row), the optimization trajectories, and the channel grid
(one image per channel of a layer, as in Olah et al. 2017)."""

from __future__ import annotations

import numpy as np

from nnvisual.plots import subplots

PHASE_LABELS = {"before": "before retraining", "after": "after retraining"}
PHASE_COLORS = {"before": "tab:blue", "after": "tab:orange"}


# -- the optimization in words, for titles ------------------------------------------------------
def priors_description(config) -> str:
    """The regularizers in use (``config``: a :class:`~nnvisual.config.MaximizeConfig`)."""
    used = [f"L2 decay {config.l2_decay:g}" if config.l2_decay else "",
            f"TV weight {config.tv_weight:g}" if config.tv_weight else "",
            f"jitter {config.jitter} px" if config.jitter else "",
            f"blur every {config.blur_every} (sigma {config.blur_sigma:g})" if config.blur_every
            else "",
            "clipped to 0..255" if config.clip else ""]
    return ", ".join(word for word in used if word) or "no regularizer"


def pixel_steps(config) -> str:
    """Raw-pixel ascent's steps and update rule: "20 steps of 0.0001"."""
    rule = " Adam" if config.optimizer == "adam" else ""
    return f"{config.steps}{rule} steps of {config.step_size:g}"


def method_description(config) -> str:
    """The whole optimization: parametrization or pixel steps, priors, transforms, diversity."""
    if not config.parametrized:
        method = f"{pixel_steps(config)}, {priors_description(config)}"
    else:
        colour = ", decorrelated colour" if config.decorrelate else ""
        method = f"{config.param} image{colour}, {config.steps} Adam steps of {config.learning_rate:g}"
    if config.transforms != "none":
        method += f", transforms {config.transforms}"
    if config.diversity:
        method += f", diversity {config.diversity:g} on {config.diversity_layer}"
    return method


# -- figures ---------------------------------------------------------------------------------------
def _phase_label(phase: str, retrained: bool) -> str:
    return PHASE_LABELS.get(phase, phase) if retrained else "reconstruction"


def reconstructions_figure(images: dict[str, np.ndarray], probabilities: dict[str, np.ndarray],
                           title: str, class_label: str):
    """One row per phase (``{"before": uint8 (n, H, W, 3), "after": ...}``), one column per
    reconstruction, each labelled with its probability of ``class_label``."""
    phases = list(images)
    count = max(len(batch) for batch in images.values())
    retrained = len(phases) > 1
    figure, axes = subplots(len(phases), count, squeeze=False, layout="constrained",
                            figsize=(2.1 * count + 0.6, 2.6 * len(phases) + 0.7))
    for row, phase in enumerate(phases):
        for column in range(count):
            axis = axes[row, column]
            axis.set_xticks([])
            axis.set_yticks([])
            if column >= len(images[phase]):
                axis.set_axis_off()
                continue
            axis.imshow(images[phase][column], interpolation="nearest")
            axis.set_xlabel(f"p = {probabilities[phase][column]:.3g}", fontsize=10)
            if row == 0:
                axis.set_title(f"#{column}", fontsize=10)
        axes[row, 0].set_ylabel(_phase_label(phase, retrained), fontsize=11)
    figure.suptitle(f"{title}\np: the model's probability of class {class_label}", fontsize=12)
    return figure


def trajectory_figure(objective: dict[str, np.ndarray], probability: dict[str, np.ndarray],
                      objective_label: str, title: str):
    """The objective and the class probability per step (arrays (steps + 1, n) per phase), one
    row of two panels per phase (their scales differ): one thin line per image, the mean in bold."""
    from matplotlib.ticker import MaxNLocator

    phases = list(objective)
    retrained = len(phases) > 1
    figure, axes = subplots(len(phases), 2, squeeze=False,
                            figsize=(10, 3.2 * len(phases) + 0.6))
    for row, phase in enumerate(phases):
        color = PHASE_COLORS.get(phase, "tab:blue")
        steps = np.arange(len(objective[phase]))
        for axis, values, label in ((axes[row, 0], objective[phase], objective_label),
                                    (axes[row, 1], probability[phase], "class probability")):
            axis.plot(steps, values, color=color, alpha=0.35, linewidth=0.8)
            axis.plot(steps, values.mean(axis=1), color=color, linewidth=2.2,
                      label="mean of the images")
            axis.set_ylabel(label)
            axis.set_title(_phase_label(phase, retrained), fontsize=11)
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.grid(alpha=0.3)
        axes[row, 0].legend(fontsize=9)
    for axis in axes[-1]:
        axis.set_xlabel("gradient-ascent step")
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    return figure


def channels_figure(images: np.ndarray, channels, title: str, columns: int = 8):
    """A grid of uint8 images (k, H, W, 3), each titled with its channel."""
    return labelled_figure(images, [f"channel {channel}" for channel in channels], title, columns)


def objectives_figure(images: np.ndarray, objectives, title: str, columns: int = 8):
    """A grid of uint8 images (k, H, W, 3), each titled with the objective it maximizes."""
    return labelled_figure(images, [str(objective) for objective in objectives], title, columns)


def labelled_figure(images: np.ndarray, labels, title: str, columns: int = 8):
    """A grid of uint8 images (k, H, W, 3), each titled with its label."""
    count = len(images)
    columns = min(columns, count)
    rows = -(-count // columns)
    figure, axes = subplots(rows, columns, squeeze=False, layout="constrained",
                            figsize=(1.6 * columns + 0.4, 1.75 * rows + 0.6))
    for position, axis in enumerate(axes.ravel()):
        axis.set_axis_off()
        if position < count:
            axis.imshow(images[position], interpolation="nearest")
            axis.set_title(labels[position], fontsize=9)
    figure.suptitle(title, fontsize=10)
    return figure
