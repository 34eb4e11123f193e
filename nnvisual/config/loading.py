"""Reading a config: a YAML file with one section per command (``configs/paper.yaml``), then
the flags given on the command line or the keyword arguments given to the API.

Precedence: the dataclass defaults < the file's section < flags given on the command line.
Unknown sections or keys and values of the wrong type are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import yaml

from nnvisual.config.atlas import AtlasConfig
from nnvisual.config.attribute import AttributeConfig, SanityConfig
from nnvisual.config.deconv import DeconvConfig
from nnvisual.config.evaluate import EvaluateConfig
from nnvisual.config.maximize import MaximizeConfig
from nnvisual.config.score_bow import ScoreBowConfig
from nnvisual.config.train import TrainConfig
from nnvisual.errors import UserError

SECTIONS = {cls.SECTION: cls for cls in (TrainConfig, DeconvConfig, MaximizeConfig, ScoreBowConfig,
                                         AttributeConfig, SanityConfig, EvaluateConfig, AtlasConfig)}


def _coerce(key: str, value, annotation):
    """Return ``value`` as the field's type, or raise UserError naming the key."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UserError(f"config key '{key}' must be a list, got {value!r}")
        return tuple(_coerce(key, v, args[0]) for v in value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise UserError(f"config key '{key}' must be true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"config key '{key}' must be an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"config key '{key}' must be a number, got {value!r}")
        return float(value)
    if annotation is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UserError(f"config key '{key}' must be a string, got {value!r}")
        return str(value)
    raise TypeError(f"unsupported config annotation {annotation!r}")


def read_config_file(path: Path) -> dict:
    """Read a YAML config file (``yaml.safe_load``) and check its section names."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"config path is a directory, not a file: {path}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {exc}".splitlines()[0]) from None
    document = document or {}
    if not isinstance(document, dict):
        raise UserError(f"config file {path} must map section names to settings")
    for section in document:
        if section not in SECTIONS:
            raise UserError(f"unknown section '{section}' in {path}; known: {', '.join(SECTIONS)}")
    return document


def load_config(cls, path: Path | None = None, overrides: dict | None = None):
    """Build ``cls`` from its section of the YAML file at ``path`` and non-None ``overrides``."""
    values = {}
    if path is not None:
        section = read_config_file(path).get(cls.SECTION) or {}
        if not isinstance(section, dict):
            raise UserError(f"section '{cls.SECTION}' of {path} must map keys to values")
        values.update(section)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in known:
            raise UserError(f"unknown config key '{key}' for {cls.SECTION}; known keys: {', '.join(known)}")
    return cls(**{key: _coerce(key, value, hints[key]) for key, value in values.items()})


def to_dict(config) -> dict:
    """The resolved config as a plain dict (for config.yaml and the manifest)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
