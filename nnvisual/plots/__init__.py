"""Figures. The only package that imports matplotlib; every function returns a Figure.

One module per topic (training curves, deconv, maximize, bag of words); the command layer
saves the figures through :meth:`nnvisual.runs.Run.write_figure`.
"""

import os

import matplotlib

if not os.environ.get("MPLBACKEND"):  # Jupyter sets it (inline figures); else files only
    matplotlib.use("Agg")
