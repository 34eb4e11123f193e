"""Reading a pickle without letting it run code: only the globals a caller names are resolved.

Unpickling calls whatever importable function a pickle names (``os.system`` included), so the
pickles nnvisual reads from files it did not write (legacy PyTorch weights,
:mod:`nnvisual.models.torch_weights`; the CIFAR-10 archive's batches, :mod:`nnvisual.data.cifar_archive`) go
through :class:`RestrictedUnpickler`, which maps each allowed ``(module, name)`` to an object of
the caller's choosing and refuses any other global, and any persistent object, by name.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping


class Refused(Exception):
    """A pickle asked for a global (or a persistent object) it is not allowed to have."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose only globals are ``allowed[module, name]``."""

    def __init__(self, handle, allowed: Mapping[tuple[str, str], object], **kwargs):
        super().__init__(handle, **kwargs)
        self.allowed = allowed

    def find_class(self, module, name):
        if (module, name) not in self.allowed:
            raise Refused(f"{module}.{name}")
        return self.allowed[module, name]

    def persistent_load(self, pid):
        raise Refused("a persistent object")
