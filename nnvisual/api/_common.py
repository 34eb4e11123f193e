"""What the API's functions share: the ``model`` argument, keyword settings checked against
the command's config, image arguments, and results that save as run folders.

The settings of each function are its command's config fields (:mod:`nnvisual.config`, the one
source of defaults and checks): a keyword the config does not have is a ``TypeError``, a bad
value a :class:`~nnvisual.errors.UserError`, both before anything is computed.
"""

from __future__ import annotations

import dataclasses
import logging
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from nnvisual.config import load_config, to_dict
from nnvisual.config.fields import described
from nnvisual.errors import UserError
from nnvisual.models.loading import load_configured, load_model  # noqa: F401 (nv.load_model)

Progress = Callable[[int, int, str], None]  # (done, total, what is being done)
log = logging.getLogger("nnvisual.api")  # skipped files; the command line shows warning: lines


def no_progress(done: int, total: int, label: str) -> None:
    """The default progress callback: say nothing."""


def model_setting(model) -> str:
    """The config's ``model`` value: the name or path given, else the loaded model's name."""
    return str(model) if isinstance(model, (str, Path)) else load_model(model).name


def settings(cls, function: str, given: dict, **fixed):
    """The config ``cls`` of the keyword arguments ``given`` to ``function`` (TypeError for one
    ``cls`` does not know, or that the function takes as an argument of its own) and the
    values ``fixed`` by the function's arguments."""
    known = {field.name for field in dataclasses.fields(cls)} - set(fixed)
    unknown = sorted(set(given) - known)
    if unknown:
        raise TypeError(f"{function}() got an unexpected keyword argument '{unknown[0]}'; its "
                        f"settings are: {', '.join(sorted(known))}")
    return load_config(cls, None, {**given, **fixed})


def with_settings(cls, *taken: str):
    """Append to a function's docstring each of its settings, what it means and its default,
    from ``cls``'s fields (:func:`nnvisual.config.fields.described`: the text ``--help`` shows,
    the one source of both), leaving out the fields the function takes as arguments."""
    def decorate(function):
        lines = [f"    Settings (keywords; {cls.__name__}):"]
        for field in dataclasses.fields(cls):
            if field.name not in taken:
                lines.append(textwrap.fill(f"``{field.name}``: {described(field)}", width=96,
                                           initial_indent="        ", subsequent_indent="            ",
                                           break_on_hyphens=False))
        function.__doc__ += "\n" + "\n".join(lines) + "\n"
        return function

    return decorate


def rgb_image(image) -> tuple[np.ndarray, str]:
    """``(uint8 RGB image, where it came from)`` of a path or an (H, W, 3) uint8 array."""
    from nnvisual import data

    if isinstance(image, (str, Path)):
        return data.read_image(image), str(image)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise UserError(f"an image must be a path or a uint8 (height, width, 3) RGB array, got "
                        f"{image.dtype} {image.shape}")
    return image, f"array {image.shape[0]}x{image.shape[1]}"


class Result:
    """A result of the API: arrays and tables, ``plot()`` and ``save(path)``.

    ``save`` writes the run folder the command line writes (``manifest.json``, ``config.yaml``,
    ``figures/``, ``tables/``, arrays), each file atomically (:mod:`nnvisual.runs`).
    """

    command: ClassVar[str]  # the command whose run folder this is
    function: ClassVar[str]  # the API function that made it

    config: object  # the command's config
    run_name: str  # the run folder's default name: results/<command>-<run_name>-<time>/

    def write(self, run) -> None:
        """Write the outputs into the open run folder ``run`` (:class:`nnvisual.runs.Run`)."""
        raise NotImplementedError

    def save(self, path: str | Path | None = None, force: bool = False) -> Path:
        """Write the run folder at ``path`` (default ``results/<command>-<name>-<time>/``) and
        return it; an existing non-empty ``path`` is replaced only with ``force`` and only if it
        is a run of the same command."""
        from nnvisual import runs

        run = runs.create_run(self.command, self.run_name, to_dict(self.config),
                              None if path is None else Path(path), force)
        run.manifest["argv"] = [f"python: nnvisual.{self.function}"]
        with runs.running(run):
            self.write(run)
        return run.path
