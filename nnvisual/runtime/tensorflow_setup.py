"""TensorFlow's settings for the whole process, made before it is imported: its oneDNN kernels on
every x86-64 CPU, and its C++ log lines kept off the terminal.

**oneDNN.** TensorFlow enables its oneDNN (Intel MKL-DNN) kernels by default only on x86 CPUs
with AVX-512 VNNI, AVX-512 bfloat16 or AMX; elsewhere, e.g. on an AMD EPYC with AVX2, it runs
Eigen's. On that CPU oneDNN was measured faster for everything nnvisual computes: plotka's
training 1.8x (with nnvisual's input pipeline), VGG16 forward + backward 1.85x, EfficientNet-
Lite0 1.7x. On the CPUs where TensorFlow turns it on itself, asking for it changes nothing.

**Log lines.** TensorFlow's native code writes to file descriptor 2 directly, past Python's
``sys.stderr``: while it is imported, absl's "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR" and "Could not find cuda drivers on your
machine" (twice, on a machine without a GPU), which no environment variable turns off; once it
runs, "failed call to cuInit: ... UNKNOWN ERROR (303)", oneDNN and CPU-feature notices, which
``TF_CPP_MIN_LOG_LEVEL=3`` turns off. None is an error of the run, but they read like errors.

:func:`silence_tensorflow` sets that level, whatever the user's environment says, and runs the
first import of TensorFlow with file descriptor 2 sent to a temporary file, which is shown only
if the import fails. It imports nothing itself: a command that never needs TensorFlow never
loads it. ``import nnvisual`` calls it (:func:`quiet_unless_asked`), so the Python API is as
quiet as the command line, unless ``NNVISUAL_TF_LOGS=1`` (:data:`LOGS_VARIABLE`) asks for the
lines; the command line's ``--verbose`` asks for them too (:func:`show_tensorflow_logs`).

**Not loaded where unused.** On another Keras backend, Keras still imports TensorFlow whenever it
is installed, for optional uses only: recognising TensorFlow's objects when it serializes a layer's
config (every ``get_config``) and seeding TensorFlow's generator. That import cost a JAX
``maximize`` 2.7 s of its first step. :func:`keras_without_tensorflow` tells Keras it is absent.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import platform
import sys
import tempfile

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"  # read by TensorFlow when it is imported


def enable_onednn() -> None:
    """Ask TensorFlow for oneDNN on x86-64 unless the environment already says (``0`` keeps
    Eigen's kernels). Effective only before TensorFlow is imported."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.setdefault(ONEDNN_VARIABLE, "1")


LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"  # read by TensorFlow's C++ logging
QUIET_LEVEL = "3"  # C++ lines below FATAL (debug VLOG lines too) are dropped
LOGS_VARIABLE = "NNVISUAL_TF_LOGS"  # 1: show TensorFlow's C++ log lines (API and command line)
_users_level: list[str | None] = []  # the level silence_tensorflow replaced, until given back


def logs_wanted() -> bool:
    """Whether the environment asks for TensorFlow's C++ log lines (``NNVISUAL_TF_LOGS=1``)."""
    return os.environ.get(LOGS_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def quiet_unless_asked() -> None:
    """:func:`silence_tensorflow`, unless :func:`logs_wanted` (``import nnvisual`` calls it)."""
    if not logs_wanted():
        silence_tensorflow()


def keras_without_tensorflow() -> None:
    """On a Keras backend other than TensorFlow, with TensorFlow not imported yet, tell Keras that
    it is absent, so that Keras never imports it for its optional uses (module docstring). Exact:
    no object can be one of TensorFlow's while TensorFlow is not imported, and nothing draws from
    its generator. Keras asks once and keeps the answer, which is given here by making the import
    fail during the question (a ``None`` entry in ``sys.modules``: the import system's rule)."""
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return
    from keras.src.utils.module_utils import tensorflow as keras_lazy_tensorflow

    sys.modules["tensorflow"] = None
    try:
        keras_lazy_tensorflow.available  # noqa: B018 (Keras caches the answer)
    finally:
        del sys.modules["tensorflow"]


def silence_tensorflow() -> None:
    """Keep TensorFlow's C++ log lines off the terminal in this process from now on.

    Has its full effect only before TensorFlow is imported: the variables are read then.
    """
    if not _users_level:
        _users_level.append(os.environ.get(LEVEL_VARIABLE))
    os.environ[LEVEL_VARIABLE] = QUIET_LEVEL
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietImport("tensorflow"))


def show_tensorflow_logs() -> None:
    """Undo :func:`silence_tensorflow`: TensorFlow's level is the environment's again (unless it
    was changed since) and its first import is not captured. Effective before TensorFlow is
    imported."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, QuietImport)]
    if _users_level:
        level = _users_level.pop()
        if os.environ.get(LEVEL_VARIABLE) == QUIET_LEVEL:
            if level is None:
                os.environ.pop(LEVEL_VARIABLE, None)
            else:
                os.environ[LEVEL_VARIABLE] = level


@contextlib.contextmanager
def native_stderr_captured():
    """File descriptor 2 sent to a temporary file for the duration; on an exception, what was
    written there goes to ``sys.stderr`` first, since it then explains the failure."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                yield
            except Exception:
                os.dup2(saved, 2)
                captured.seek(0)
                sys.stderr.write(captured.read().decode(errors="replace"))
                raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class QuietImport(importlib.abc.MetaPathFinder):
    """Finds the top-level module ``name`` as the path finder does, with a loader that runs its
    import inside :func:`native_stderr_captured`; retires after that first import."""

    def __init__(self, name: str):
        self.name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _CapturingLoader(spec.loader)
        return spec


class _CapturingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # the module sees its own loader
        with native_stderr_captured():
            self.loader.exec_module(module)
