"""The one exception type for errors a user can cause (bad path, unknown layer, no data...), and
the words its messages name a setting in.

Library code raises :class:`UserError` with a message that says what is wrong and how to fix
it; the command layer prints that single line and exits with status 2.

A message that names a setting writes it with :func:`named`, never as a flag or a keyword by
hand: the Python API's caller reads the keyword (``method="gradient"``, ``image_size=``), the
command line's the flag (``--method gradient``, ``--image-size``). The words are those of the
world the call came from: the API's, unless the command line is running (it renders each setting
with its flag, from the config fields, inside :func:`command_line_words`). A message is worded
when it is made, so a message is never kept in a module-level constant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

SettingWords = Callable[[str, object], str]  # (name, value or None) -> the words


class UserError(Exception):
    """A problem with the user's input, reported as one clear line, never a traceback."""


def python_words(name: str, value=None) -> str:
    """A setting as the Python API's keyword: ``name=`` (no value), ``name="text"``,
    ``name=3``, ``name=True``."""
    if value is None:
        return f"{name}="
    if isinstance(value, str):
        return f'{name}="{value}"'
    return f"{name}={list(value) if isinstance(value, tuple) else value!r}"


_command_line: SettingWords | None = None  # the command line's words, while it runs


def named(name: str, value=None) -> str:
    """The setting ``name`` (a config field or an argument, e.g. ``image_size``, ``unsafe``),
    with ``value`` if given, in the words of the world the call came from."""
    return (_command_line or python_words)(name, value)


def in_command_line() -> bool:
    """Whether the command line is running (for the rare words that are not a setting's)."""
    return _command_line is not None


@contextlib.contextmanager
def command_line_words(words: SettingWords) -> Iterator[None]:
    """Within the block, :func:`named` says ``words(name, value)`` (the command line's flags)."""
    global _command_line
    previous, _command_line = _command_line, words
    try:
        yield
    finally:
        _command_line = previous
