"""Figures. The only package that imports matplotlib; every function returns a Figure.

One module per topic (training curves, deconv, maximize, bag of words); the command layer
saves the figures through :meth:`nnvisual.runs.Run.write_figure`. The figures are made by
:func:`subplots`, outside pyplot's registry: nothing stays open, and a notebook shows a
returned figure once (a pyplot figure is shown again by the inline backend at the cell's end).
"""

import os

import matplotlib

if not os.environ.get("MPLBACKEND"):  # Jupyter sets it (inline figures); else files only
    matplotlib.use("Agg")


def subplots(rows: int, columns: int, figsize: tuple[float, float], layout: str | None = None,
             **options):
    """``(figure, axes)`` like ``pyplot.subplots``, with the figure not registered with pyplot;
    ``options`` go to :meth:`matplotlib.figure.Figure.subplots` (``squeeze``, ``gridspec_kw``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout=layout)
    return figure, figure.subplots(rows, columns, **options)


def deprocess(image, std: float = 0.1):
    """Display-normalize one float image (H, W, C) to uint8 RGB: the study's display
    normalization (Chollet 2016; docs/study.md, "Display normalization"), (x - mean) / std(x) *
    0.1 + 0.5, clipped to [0, 1], scaled to 0..255."""
    import numpy as np

    image = np.asarray(image, dtype=np.float64)
    centred = image - image.mean()
    spread = centred.std()
    scaled = centred / (spread + 1e-5) * std + 0.5
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)
