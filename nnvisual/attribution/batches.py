"""Bounded-memory evaluation: a function of a batch applied to rows in chunks."""

from collections.abc import Callable

import numpy as np


def in_chunks(fn: Callable, *arrays: np.ndarray, size: int) -> np.ndarray:
    """``fn(*chunk)`` for consecutive chunks of ``size`` rows of ``arrays``, concatenated."""
    count = len(arrays[0])
    return np.concatenate([fn(*(a[start:start + size] for a in arrays))
                           for start in range(0, count, size)]) if count else np.zeros((0,))
