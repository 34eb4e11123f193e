"""TensorFlow's oneDNN kernels on every x86-64 CPU (issue 19; docs/performance.md, "oneDNN").

TensorFlow enables its oneDNN (Intel MKL-DNN) kernels by default only on x86 CPUs with AVX-512
VNNI, AVX-512 bfloat16 or AMX; elsewhere, e.g. on an AMD EPYC with AVX2, it runs Eigen's. On
that CPU oneDNN was measured faster for everything nnvisual computes: plotka's training 1.8x
(with nnvisual's input pipeline), VGG16 forward + backward 1.85x, EfficientNet-Lite0 1.7x. On the
CPUs where TensorFlow turns it on itself, asking for it changes nothing.
"""

from __future__ import annotations

import os
import platform

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"  # read by TensorFlow when it is imported


def enable() -> None:
    """Ask TensorFlow for oneDNN on x86-64 unless the environment already says (``0`` keeps
    Eigen's kernels). Effective only before TensorFlow is imported."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault(VARIABLE, "1")
