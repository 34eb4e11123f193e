"""Where nnvisual's caches live (imports nothing heavy: ``import nnvisual`` reads it)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache root: ``$NNVISUAL_CACHE``, else ``~/.cache/nnvisual``."""
    return Path(os.environ.get("NNVISUAL_CACHE", Path.home() / ".cache" / "nnvisual"))
