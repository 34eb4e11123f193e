"""Decorrelated colour (Olah et al. 2017, "Feature Visualization", Distill: "Preconditioning and
Parameterization"; lucid's ``optvis.param.color``).

The optimized values live in a decorrelated colour space; a fixed 3x3 linear map, the square
root of ImageNet's colour correlation matrix (lucid's published constants, columns normalized
to unit length at most), takes them to RGB, and a sigmoid to the model's 0..255 input range.
"""

from __future__ import annotations

import numpy as np
from keras import ops

# lucid.optvis.param.color.color_correlation_svd_sqrt, verbatim
COLOR_CORRELATION_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02],
                                         [0.27, 0.00, -0.05],
                                         [0.27, -0.09, 0.03]], dtype=np.float32)
MAX_NORM_SVD_SQRT = np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))
COLOR_CORRELATION_NORMALIZED = COLOR_CORRELATION_SVD_SQRT / MAX_NORM_SVD_SQRT
RANGE = 255.0  # the models' RGB input range is 0..255


def decorrelate(values):
    """Map decorrelated colour values (..., 3) to RGB: ``values @ C.T`` with lucid's normalized
    square root ``C`` of the colour correlation (lucid's ``_linear_decorrelate_color``)."""
    return ops.matmul(values, ops.convert_to_tensor(COLOR_CORRELATION_NORMALIZED.T))


def to_valid_rgb(values, decorrelated: bool):
    """lucid's ``to_valid_rgb(..., sigmoid=True)``, scaled to the models' 0..255 range."""
    if decorrelated:
        values = decorrelate(values)
    return RANGE * ops.sigmoid(values)
