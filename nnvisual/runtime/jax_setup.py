"""JAX's persistent compilation cache, under nnvisual's cache folder.

On the JAX backend every run traces and compiles its programs again. With JAX's persistent cache
the second run of the same command on the same model reuses the compiled programs: ``attribute``
on EfficientNet-Lite0 (2 photos, 4 methods) took 30-31 s cold and 18-20 s warm, TensorFlow's
time (docs/performance.md, "Compiled programs reused on JAX").

It is on unless ``NNVISUAL_JAX_CACHE=0``. Every program nnvisual compiles takes the model's
weights as arguments (:func:`nnvisual.graph.gradients.compile_function`), so a stored program
holds none: 0.3 MB for a Lite0 ``maximize`` step, about 1 MB for a whole Lite0 ``attribute`` run.

A program is found again only under the key JAX derives from everything it depends on: the
traced program itself (weights that are traced as constants included), the compile options,
the XLA flags, and the versions of jax and jaxlib. A changed model or a changed setting is a new
key, so a stale program is never reused. The folder is also named by this machine's CPU (model
and feature flags), since XLA's CPU code is compiled for the CPU it runs on and a cache folder
may be shared between machines (a home directory on a network drive).

:func:`enable_compilation_cache` sets JAX's variables (``JAX_COMPILATION_CACHE_DIR``,
``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``, ``JAX_COMPILATION_CACHE_MAX_SIZE``) unless
``NNVISUAL_JAX_CACHE=0``, each unless the environment already sets it (a folder of the user's
own turns nnvisual's off). It imports nothing heavy; ``import nnvisual`` calls it, so
it takes effect when JAX is imported later, and applies the settings to JAX's configuration at
once where JAX was imported first.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import sys

from nnvisual.runtime.cache_root import cache_dir

SWITCH_VARIABLE = "NNVISUAL_JAX_CACHE"  # 0: leave JAX's compilation cache off
MIN_COMPILE_SECONDS = 0.0  # every program: a run compiles tens of small ones (0.4-1.7 MB stored
                           # per Lite0 command), which together cost more than the few large ones
MAX_BYTES = 2 * 2**30  # JAX evicts the least recently used programs above this size


def machine_key() -> str:
    """A short name for this CPU: its architecture, model name and feature flags, hashed."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = [line for line in cpuinfo if line.startswith(("model name", "flags"))][:2]
    except OSError:
        lines = []
    text = "\n".join([platform.machine(), platform.processor(), *lines])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings() -> dict[str, str | float | int]:
    """JAX's configuration names and values for the cache. The size bound only where the
    ``filelock`` package is installed (the ``jax`` extra has it): JAX refuses to evict without it."""
    chosen = {"jax_compilation_cache_dir": str(cache_dir() / "jax" / machine_key()),
              "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_SECONDS}
    if importlib.util.find_spec("filelock") is not None:
        chosen["jax_compilation_cache_max_size"] = MAX_BYTES
    return chosen


def enable_compilation_cache() -> None:
    """Turn JAX's persistent compilation cache on under nnvisual's cache folder, unless turned
    off (see above)."""
    if os.environ.get(SWITCH_VARIABLE, "").strip() == "0" or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    chosen = settings()
    for name, value in chosen.items():
        os.environ.setdefault(name.upper(), str(value))  # the user's own choice of each stays
    jax = sys.modules.get("jax")
    if jax is not None:
        for name, value in chosen.items():
            jax.config.update(name, type(value)(os.environ[name.upper()]))
