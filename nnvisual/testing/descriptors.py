"""Hand-made descriptors whose words and distances a test can work out by hand."""

import numpy as np


def prototype(block):
    """A raw SIFT-like 128-d descriptor: 1 on the ``block``-th third of the dimensions (0, 1 or
    2), 0 elsewhere."""
    descriptor = np.zeros(128, np.float32)
    descriptor[block * 42:(block + 1) * 42] = 1.0
    return descriptor
