"""The atlas's figure: how many of each layer's channels its feature visualizations explain."""

from nnvisual.plots import subplots


def excitation_figure(rows, model_name: str):
    """A bar per layer of ``(layer, channels, excited, fraction)`` rows: the fraction of its
    channels whose best visualization beats their strongest dataset example; the 90% goal."""
    figure, axis = subplots(1, 1, figsize=(max(4.0, 0.7 * len(rows) + 2), 3.2), layout="constrained")
    layers = [row[0] for row in rows]
    axis.bar(range(len(rows)), [row[3] for row in rows], color="#3a7bd5")
    axis.axhline(0.9, color="#d64545", linestyle="--", linewidth=1, label="goal 90%")
    axis.set_xticks(range(len(rows)), layers, rotation=30, ha="right")
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("fraction of channels")
    axis.set_title(f"{model_name}: visualization beats the strongest example", fontsize=10)
    for x, row in enumerate(rows):
        axis.text(x, min(row[3], 1.0) + 0.02, f"{row[2]}/{row[1]}", ha="center", fontsize=8)
    axis.legend(loc="lower right", fontsize=8)
    return figure
