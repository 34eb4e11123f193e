"""Figure 2 of the study: accuracy and loss per epoch, training and validation, side by side."""

from matplotlib.ticker import MaxNLocator

from nnvisual.plots import subplots


def training_curves(history: dict, title: str):
    """Two panels (accuracy, loss) of ``history`` (lists per key, one value per epoch)."""
    epochs = range(1, len(history["loss"]) + 1)
    figure, axes = subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for axis, key, label in ((axes[0], "accuracy", "Accuracy"), (axes[1], "loss", "Loss")):
        axis.plot(epochs, history[key], "o-", color="tab:blue", label="Training", markersize=4)
        axis.plot(epochs, history[f"val_{key}"], "s--", color="tab:orange", label="Validation",
                  markersize=4)
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        axis.set_title(f"{label} per epoch")
        axis.set_xlim(0.5, len(epochs) + 0.5)  # whole epochs only, even for one
        axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axis.grid(alpha=0.3)
        axis.legend(frameon=False)
    figure.suptitle(title)
    return figure
