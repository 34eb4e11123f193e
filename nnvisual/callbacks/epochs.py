"""What the callbacks share: which epochs they explain, and where their outputs go."""

from __future__ import annotations

from pathlib import Path

import keras

from nnvisual.callbacks import writer
from nnvisual.errors import UserError, named


def epoch_name(epoch: int, suffix: str) -> str:
    """``epoch-NNN.<suffix>``: the file of the state after ``epoch`` epochs."""
    return f"epoch-{epoch:03d}.{suffix}"


class EpochCallback(keras.callbacks.Callback):
    """A callback that explains the model after every ``every``-th epoch (epochs counted from
    1, as Keras shows them: epoch k is the state after k epochs), writing a PNG grid into
    ``out`` and TensorBoard summaries into ``tensorboard`` (a log folder) when given.
    ``written(path)`` is told of each file written (a run folder records them).

    Subclasses define :meth:`explain` (``epoch`` -> (figure PNG bytes, scalars)); the files
    are written only after it returns, each atomically."""

    kind = "explanations"  # the TensorBoard tag of the grid, and of the scalars' prefix

    def __init__(self, every: int, out: str | Path | None, tensorboard: str | Path | None,
                 written: writer.Written | None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise UserError(f"{named('every', every)} must be a whole number of epochs, at least 1")
        if tensorboard is not None:
            writer.check_tensorboard()  # before training starts
        self.every = every
        self.written = written
        self.folder = None if out is None else writer.Folder(out, written)
        self.tensorboard = tensorboard
        self._board = None
        self.scalars: dict[int, dict[str, float]] = {}  # epoch -> its scalars

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if not self.due(done):
            return
        png, scalars = self.explain(done)
        self.scalars[done] = scalars
        if self.folder is not None:
            self.folder.write_bytes(epoch_name(done, "png"), png)
        if self.tensorboard is not None:
            if self._board is None:
                self._board = writer.TensorBoard(self.tensorboard, self.written)
            self._board.image(self.kind, png, done)
            self._board.scalars({f"{self.kind}/{tag}": value for tag, value in scalars.items()}, done)

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        """Close the TensorBoard event file (a later epoch starts a new one)."""
        if self._board is not None:
            self._board.close()
            self._board = None

    def explain(self, epoch: int) -> tuple[bytes, dict[str, float]]:
        raise NotImplementedError
