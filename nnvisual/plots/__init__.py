"""Figures. The only package that imports matplotlib; every function returns a Figure.

One module per topic (training curves, deconv, maximize, bag of words); the command layer
saves the figures through :meth:`nnvisual.runs.Run.write_figure`.
"""

import matplotlib

matplotlib.use("Agg")  # files only, no display
