"""What every command's config is made of: fields that carry their meaning, and the checks
they share.

A config field is declared with :func:`setting`: its default and one sentence on what it means.
That sentence is the one source of the command's ``--help`` text and of the Python API's
docstrings (:func:`described`, which adds the default), so a default is never typed twice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from nnvisual.choices import CACHE_MODES, one_of
from nnvisual.errors import UserError
from nnvisual.runtime import shards


def setting(default, about: str | Callable[[], str], *, flag: str | None = None,
            metavar: str | None = None, choices: tuple[str, ...] | None = None,
            shown_default: str | None = None):
    """A config field: its ``default``, what it means (``about``: a sentence, or a function that
    writes it when asked, for lists that can grow) and how the command line offers it: ``flag``
    (default ``--field-name``; ``--x/--no-x`` for a boolean, ``--x`` alone for an on-switch),
    ``metavar``, ``choices`` (a fixed list of values) and ``shown_default`` (the default in
    words, where the value alone says little, e.g. ``None``)."""
    return dataclasses.field(default=default, metadata={
        "about": about, "flag": flag, "metavar": metavar, "choices": choices,
        "shown_default": shown_default})


def about(field: dataclasses.Field) -> str:
    """What ``field`` means, without its default."""
    text = field.metadata.get("about", "")
    return text() if callable(text) else text


def shown_default(field: dataclasses.Field) -> str:
    """``field``'s default as a user reads it: ``50``, ``0.0001``, ``a,b``, or its words."""
    if field.metadata.get("shown_default"):
        return field.metadata["shown_default"]
    value = field.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def described(field: dataclasses.Field) -> str:
    """What ``field`` means and its default (none said for a None without words): ``--help``'s
    text and the API docstrings'."""
    text = about(field).rstrip(".")
    if field.default is None and not field.metadata.get("shown_default"):
        return text + "."
    if text.endswith(")"):
        return f"{text}; default {shown_default(field)}."
    return f"{text} (default {shown_default(field)})."


def flag(field: dataclasses.Field) -> str:
    """``field``'s command-line flag: its own, else ``--field-name`` (``--x/--no-x`` for a
    boolean)."""
    if field.metadata.get("flag"):
        return field.metadata["flag"]
    dashed = field.name.replace("_", "-")
    return f"--{dashed}/--no-{dashed}" if str(field.type) == "bool" else f"--{dashed}"


def field_named(cls, name: str) -> dataclasses.Field:
    return next(field for field in dataclasses.fields(cls) if field.name == name)


class Config:
    """Checks shared by every command's config: each float is finite, then the config's own
    :meth:`check` (a config that exists is valid)."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "float" and not math.isfinite(value):
                raise UserError(f"config key '{field.name}' must be a finite number, got {value}")
        self.check()

    def check(self):
        raise NotImplementedError


def check(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def check_choice(value: str, key: str, allowed) -> None:
    check(value in allowed, f"unknown {key} '{value}': choose {one_of(tuple(allowed))}")


def settings_from(config, cls, prefix: str = ""):
    """A library settings dataclass ``cls`` filled from ``config``'s fields of the same names
    (``prefix + name`` first, e.g. ``retrain_epochs`` for ``FineTuning.epochs``); its own checks
    (a ValueError) become a UserError. The one way a config hands its values to the library."""
    values = {}
    for field in dataclasses.fields(cls):
        key = prefix + field.name if hasattr(config, prefix + field.name) else field.name
        values[field.name] = getattr(config, key)
    try:
        return cls(**values)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def parse_image_size(spec: str | None) -> tuple[int, int] | None:
    """``"224"`` (square) or ``"224x160"`` (height x width) as ``(height, width)``; None stays
    None. The size images are resized to for a model that takes any size."""
    if spec is None:
        return None
    parts = str(spec).lower().split("x")
    try:
        size = tuple(int(part) for part in parts)
    except ValueError:
        size = ()
    check(len(size) in (1, 2) and min(size) >= 1,
          f"image_size must be N or HxW in pixels (e.g. 224 or 224x160), got '{spec}'")
    return (size[0], size[-1])


def check_cache(cache: str, memory_budget_mb: float) -> None:
    check_choice(cache, "cache", CACHE_MODES)
    check(memory_budget_mb >= 0, f"memory_budget_mb must be >= 0, got {memory_budget_mb}")


def check_shard(spec: str | None) -> None:
    if spec is not None:
        shards.parse(spec)


def model_about() -> str:
    """``model``'s meaning, with the networks known by name (:data:`nnvisual.models.zoo.NAMED`)."""
    from nnvisual.models.zoo import described as named

    return (f"The network: {named()}; a `train` run folder; a saved .keras model; or, with the hub "
            "extra, a Keras Hub ViT or DeiT preset folder or keras-hub:PRESET (e.g. "
            "keras-hub:vit_base_patch16_224_imagenet)")


def model_setting(default: str = "vgg16"):
    """The ``model`` field of the commands that analyse a model: the study's VGG16 by default
    (``deconv``, ``maximize``), or ``default`` (``attribute`` and ``sanity`` take
    ``efficientnet-lite0``, whose weights ship with nnvisual: they work offline)."""
    return setting(default, model_about, metavar="vgg16|efficientnet-lite0|RUN_DIR|PATH.keras")


def weights_setting():
    return setting("imagenet", "VGG16's and keras-hub:PRESET's weights: imagenet (downloaded once), "
                   "none (random, offline) or a local file (VGG16)", metavar="imagenet|none|PATH")


def image_size_setting():
    return setting(None, "For a model that takes images of any size: the size to resize them to "
                   "(e.g. 224)", metavar="N|HxW", shown_default="the model's own")


def output_setting():
    """The ``output`` field of the commands that explain a model's scores."""
    return setting(None, "For a model with several outputs: the one to explain (the name of "
                   "the layer that produces it)", metavar="NAME", shown_default="the only one")


def seed_setting():
    return setting(0, "Random seed")


def cache_setting(subject: str):
    """The ``cache`` field of the commands that read an image folder; ``subject`` says which."""
    return setting("auto", f"{subject}: memory decodes the whole folder once; none streams it from "
                   "disk (memory bounded whatever its size); auto streams above memory_budget_mb "
                   "of decoded images", choices=CACHE_MODES)


def memory_budget_setting():
    """The ``memory_budget_mb`` field that goes with :func:`cache_setting`."""
    return setting(2048.0, "Decoded size (MB) of an image folder that cache auto keeps in memory")


def shard_setting():
    return setting(None, "Scan only block I of N (0 <= I < N) of the images, in whole batches; "
                   "combine the N runs with `nnvisual merge` (docs/distributed.md, \"Sharded "
                   "scans\")", metavar="I/N", shown_default="all")
