"""Fourier parametrization (Olah et al. 2017, "Feature Visualization", Distill: "Preconditioning
and Parameterization"; lucid's ``optvis.param.spatial.fft_image``).

An image channel is the inverse real 2-D FFT of a spectrum whose coefficients are scaled by
``1 / max(f, 1 / max(h, w)) ** decay_power * sqrt(h * w)`` (f: the frequency in cycles per
pixel), then divided by 4, as in lucid: gradient steps on the spectrum then change low
frequencies as much as high ones, which whitens the gradient of natural images (1/f spectrum).
Unlike lucid (``w // 2 + 2`` columns for odd widths, then a crop) the spectrum has exactly
``w // 2 + 1`` columns and the inverse is given the width, so it inverts :func:`image_to_spectrum`
exactly.
"""

from __future__ import annotations

import numpy as np
from keras import ops

MIN_SIZE = 4  # a smaller image has too few frequencies to parametrize


def frequencies(height: int, width: int) -> np.ndarray:
    """The frequency magnitude (cycles per pixel) of each rfft2 coefficient: (h, w // 2 + 1)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> np.ndarray:
    """lucid's per-coefficient scale (h, w // 2 + 1), float32."""
    scale = 1.0 / np.maximum(frequencies(height, width), 1.0 / max(height, width)) ** decay_power
    return (scale * np.sqrt(height * width)).astype(np.float32)


def _inverse_fft_rows(real, imag):
    """The inverse complex FFT along the second-to-last axis, through ``ops.fft`` (forward only
    on every backend): ifft(z) = conj(fft(conj(z))) / n."""
    rows = real.shape[-2]
    real, imag = ops.swapaxes(real, -1, -2), ops.swapaxes(imag, -1, -2)
    real, imag = ops.fft((real, -imag))
    return ops.swapaxes(real, -1, -2) / rows, ops.swapaxes(-imag, -1, -2) / rows


def spectrum_to_image(spectrum, size: tuple[int, int], decay_power: float = 1.0):
    """Images (n, h, w, 3) from spectra (n, 3, h, w // 2 + 1, 2) holding real and imaginary
    parts: ``irfft2(scale * spectrum) / 4``, channels last."""
    height, width = size
    scale = ops.convert_to_tensor(spectrum_scale(height, width, decay_power))
    real, imag = _inverse_fft_rows(spectrum[..., 0] * scale, spectrum[..., 1] * scale)
    channels = ops.irfft((real, imag), fft_length=width)
    return ops.transpose(channels, (0, 2, 3, 1)) / 4.0


def image_to_spectrum(images: np.ndarray, decay_power: float = 1.0) -> np.ndarray:
    """The spectra whose :func:`spectrum_to_image` is ``images`` (n, h, w, 3), in NumPy."""
    height, width = images.shape[1:3]
    spectrum = np.fft.rfft2(np.transpose(images, (0, 3, 1, 2)) * 4.0)
    spectrum = spectrum / spectrum_scale(height, width, decay_power)
    return np.stack([spectrum.real, spectrum.imag], axis=-1).astype(np.float32)
