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

from nnvisual.data.display import deprocess  # noqa: E402, F401 (the figures' display normalization)


def subplots(rows: int, columns: int, figsize: tuple[float, float], layout: str | None = None,
             **options):
    """``(figure, axes)`` like ``pyplot.subplots``, with the figure not registered with pyplot;
    ``options`` go to :meth:`matplotlib.figure.Figure.subplots` (``squeeze``, ``gridspec_kw``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout=layout)
    return figure, figure.subplots(rows, columns, **options)
