"""Where the callbacks' outputs go: PNG grids and map arrays into a folder, and TensorBoard
image and scalar summaries.

The one place in :mod:`nnvisual.callbacks` that writes files. A folder's files are written
atomically (:mod:`nnvisual.runtime.files`): a file is the old one or the whole new one, never
half of one. TensorBoard's event files are written with TensorBoard's own writer, which needs
only the ``tensorboard`` package (``pip install "nnvisual[tensorboard]"``), not TensorFlow: an
:class:`~tensorboard.summary.writer.event_file_writer.EventFileWriter` given ``Event`` protocol
buffers (the way ``torch.utils.tensorboard`` writes), so it works on every Keras backend with
TensorFlow absent.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnvisual.errors import UserError, named
from nnvisual.runtime.files import disk_errors, write_bytes_atomic

Written = Callable[[Path], None]  # told the path of each file written (a run records it)


def figure_png(figure) -> bytes:
    """A matplotlib figure as PNG bytes (the run folders' settings: 150 dpi, tight, no
    software stamp), the figure closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """``(height, width)`` of a PNG, read from its header."""
    return int.from_bytes(png[20:24], "big"), int.from_bytes(png[16:20], "big")


class Folder:
    """Files written atomically into ``path`` (created when the first is written);
    ``written(path)`` is told of each."""

    def __init__(self, path: str | Path, written: Written | None = None):
        self.path = Path(path)
        self.written = written or (lambda path: None)

    def write_bytes(self, name: str, data: bytes) -> Path:
        target = self.path / name
        write_bytes_atomic(target, data)
        self.written(target)
        return target

    def write_npz(self, name: str, **arrays: np.ndarray) -> Path:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return self.write_bytes(name, buffer.getvalue())


@contextlib.contextmanager
def _tensorboard_without_tensorflow():
    """TensorBoard's file access (``tensorboard.compat.tf``, resolved once, on first use) made
    its TensorFlow-free stub, on a backend other than TensorFlow with TensorFlow not imported:
    TensorBoard would otherwise import TensorFlow whenever it is installed (seconds of start-up
    for nothing; :mod:`nnvisual.runtime.seeding` hides it the same way)."""
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        yield
        return
    sys.modules["tensorflow"] = None  # a None entry makes the import fail
    try:
        from tensorboard import compat

        compat.tf.__name__  # noqa: B018 (resolves the lazy module: the stub, cached)
        yield
    finally:
        del sys.modules["tensorflow"]


def check_tensorboard() -> None:
    """UserError, in one line, when TensorBoard summaries are asked for but the ``tensorboard``
    package is not installed."""
    try:
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError:
        raise UserError(f"TensorBoard summaries ({named('tensorboard')}) need the tensorboard "
                        "package: pip install 'nnvisual[tensorboard]'") from None


class TensorBoard:
    """Image and scalar summaries in a TensorBoard log folder, through TensorBoard's own event
    file writer (no TensorFlow). Each call appends one event at ``step`` and flushes it, so a
    TensorBoard watching the folder sees each epoch as it ends. A new writer starts a new event
    file beside the old ones (a resumed run keeps its earlier events)."""

    def __init__(self, logdir: str | Path, written: Written | None = None):
        check_tensorboard()
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.logdir = Path(logdir)
        with disk_errors(self.logdir), _tensorboard_without_tensorflow():
            self.logdir.mkdir(parents=True, exist_ok=True)
            self._writer = EventFileWriter(str(self.logdir))
        self.file = Path(self._writer._file_name)  # the event file this writer appends to
        self.written = written or (lambda path: None)

    def _add(self, step: int, *values) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        event = Event(wall_time=time.time(), step=int(step), summary=Summary(value=list(values)))
        with disk_errors(self.logdir):
            self._writer.add_event(event)
            self._writer.flush()
        self.written(self.file)

    def image(self, tag: str, png: bytes, step: int) -> None:
        """The PNG ``png`` as image ``tag`` at ``step``."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        height, width = png_size(png)
        image = Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
        self._add(step, Summary.Value(tag=tag, image=image))

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Each ``tag: value`` of ``values`` as a scalar at ``step`` (one event)."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        if values:
            self._add(step, *(Summary.Value(tag=tag, simple_value=float(value))
                              for tag, value in values.items()))

    def close(self) -> None:
        self._writer.close()
