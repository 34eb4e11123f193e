"""Command configurations: frozen dataclasses filled from a YAML file, then from CLI flags.

A config file (``configs/paper.yaml``) has one section per command (``train``, ``deconv``,
``maximize``, ``score_bow``). Precedence: dataclass defaults < the file's section < flags given
on the command line. Unknown sections or keys and values of the wrong type are errors that name
the key.

Each config is the one source of its command's defaults and checks; the choices come from
:mod:`nnvisual.choices`, and the library's settings objects (``Regularizers``, ``FineTuning``,
``extract.Settings``) are built from a config by :func:`settings_from`, never re-typed.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import ClassVar

import yaml

from nnvisual import choices
from nnvisual.choices import one_of
from nnvisual.errors import UserError
from nnvisual.runtime import shards


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def _check_choice(value: str, key: str, allowed: tuple[str, ...]) -> None:
    _check(value in allowed, f"unknown {key} '{value}': choose {one_of(allowed)}")


def settings_from(config, cls, prefix: str = ""):
    """A library settings dataclass ``cls`` filled from ``config``'s fields of the same names
    (``prefix + name`` first, e.g. ``retrain_epochs`` for ``FineTuning.epochs``); a ValueError
    of its checks becomes a UserError."""
    values = {}
    for field in dataclasses.fields(cls):
        key = prefix + field.name if hasattr(config, prefix + field.name) else field.name
        values[field.name] = getattr(config, key)
    try:
        return cls(**values)
    except ValueError as exc:
        raise UserError(str(exc)) from None


class _Config:
    """Checks shared by every command's config: each float is finite, then the config's own."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "float" and not math.isfinite(value):
                raise UserError(f"config key '{field.name}' must be a finite number, got {value}")
        self.check()

    def check(self):
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class TrainConfig(_Config):
    """`nnvisual train` (docs/study.md, "Training"; defaults are the paper's plotka settings)."""

    SECTION: ClassVar[str] = "train"
    model: str = "plotka"
    num_classes: int = 10
    epochs: int = 10
    lr: float = 1e-4
    batch_size: int = 128
    val_split: float = 0.3
    augment: bool = True
    rotation: float = 20.0  # degrees
    shift: float = 0.2  # fraction of width and height
    hflip: bool = True
    early_stopping_monitor: str = "loss"  # the paper stops on the training loss
    early_stopping_min_delta: float = 0.001
    early_stopping_patience: int = 3
    subset: int | None = None
    seed: int = 0
    deterministic: bool = False  # TensorFlow op determinism: the same seed gives the same history
    precision: str = "auto"  # float32, mixed_bfloat16, or auto (see training.resolve_precision)
    cache: str = "auto"  # memory, none (streamed), or auto: streamed above memory_budget_mb
    memory_budget_mb: float = 2048.0  # decoded size of an image folder that auto keeps in memory
    distribute: str = "none"  # data-parallel: the batch split over all devices (nnvisual.training.distribute)
    # several processes or hosts (nnvisual.training.multihost); None: Keras' KERAS_DISTRIBUTION_* variables
    coordinator: str | None = None  # HOST:PORT where process 0 listens
    num_processes: int | None = None  # processes training together (None or 1: this one alone)
    process_id: int | None = None  # this process's index, 0 on the coordinator
    coordinator_timeout: float = 60.0  # seconds to wait for the coordinator and the other processes

    def check(self):
        _check_choice(self.model, "model", choices.TRAINABLE_MODELS)
        _check(self.num_classes >= 2, f"num_classes must be at least 2, got {self.num_classes}")
        _check(self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}")
        _check(self.lr > 0, f"lr must be positive, got {self.lr}")
        _check(self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}")
        _check(0 < self.val_split < 1, f"val_split must be in (0, 1), got {self.val_split}")
        _check(0 <= self.rotation <= 180, f"rotation must be in [0, 180] degrees, got {self.rotation}")
        _check(0 <= self.shift < 1, f"shift must be in [0, 1), got {self.shift}")
        _check_choice(self.early_stopping_monitor, "early_stopping_monitor",
                      choices.EARLY_STOPPING_MONITORS)
        _check(self.early_stopping_patience >= 0, "early_stopping_patience must be >= 0")
        _check(self.subset is None or self.subset >= 1, f"subset must be at least 1, got {self.subset}")
        _check_choice(self.precision, "precision", choices.PRECISIONS)
        _check_cache(self.cache, self.memory_budget_mb)
        _check_choice(self.distribute, "distribute", choices.DISTRIBUTIONS)
        if self.coordinator is not None:
            _check_coordinator(self.coordinator)
        _check(self.num_processes is None or self.num_processes >= 1,
               f"num_processes must be at least 1, got {self.num_processes}")
        _check(self.process_id is None or self.process_id >= 0,
               f"process_id must be >= 0, got {self.process_id}")
        _check(self.coordinator_timeout > 0,
               f"coordinator_timeout must be positive (seconds), got {self.coordinator_timeout}")


def _check_coordinator(address: str) -> None:
    host, _, port = address.rpartition(":")
    _check(bool(host) and port.isdigit() and 0 < int(port) < 65536,
           f"coordinator must be HOST:PORT (e.g. 10.0.0.1:1234), got '{address}'")


def check_cluster(distribute: str, coordinator: str | None, num_processes: int | None,
                  process_id: int | None) -> None:
    """Checks of the settings naming the processes that train together (``nnvisual.training.multihost``),
    once Keras' environment variables have filled in the unset ones."""
    if (num_processes or 1) == 1:
        _check(coordinator is None and not process_id,
               "coordinator and process_id need num_processes above 1 (several training processes)")
        return
    _check(coordinator is not None, f"{num_processes} training processes need the coordinator's "
                                    f"HOST:PORT (--coordinator)")
    _check_coordinator(coordinator)
    _check(process_id is not None, "several training processes need this process's process_id "
                                   "(0 on the coordinator)")
    _check(0 <= process_id < num_processes,
           f"process_id must be in [0, {num_processes - 1}] for {num_processes} processes, got {process_id}")
    _check(distribute == "data-parallel", "several training processes need distribute: data-parallel")


@dataclasses.dataclass(frozen=True)
class DeconvConfig(_Config):
    """`nnvisual deconv` (docs/study.md, "DeconvNet")."""

    SECTION: ClassVar[str] = "deconv"
    model: str = "vgg16"
    weights: str = "imagenet"
    image_size: str | None = None  # N or HxW: for a model that takes any size (parse_image_size)
    image: str | None = None  # None: scikit-learn's sample photo china.jpg
    layers: tuple[str, ...] | None = None  # None: the first convolution of each block
    top_k: int = 8
    mode: str = "max"
    method: str = "deconvnet"
    top9: bool = False
    top9_split: str = "test"
    top9_images: int = 2000  # dataset images scanned for the top-9 view
    seed: int = 0
    shard: str | None = None  # I/N: scan only that block of the top-9 images (nnvisual.runtime.shards)
    cache: str = "auto"  # the top-9 dataset: as train's (memory, none: streamed, auto)
    memory_budget_mb: float = 2048.0

    def check(self):
        parse_image_size(self.image_size)
        _check(self.top_k >= 1, f"top_k must be at least 1, got {self.top_k}")
        _check_choice(self.mode, "mode", choices.DECONV_MODES)
        _check_choice(self.method, "method", choices.DECONV_METHODS)
        _check_choice(self.top9_split, "top9_split", choices.SPLITS)
        _check(self.top9_images >= 9, f"top9_images must be at least 9, got {self.top9_images}")
        _check(self.shard is None or self.top9, "shard splits the top-9 scan: give --top9 with it")
        _check_shard(self.shard)
        _check_cache(self.cache, self.memory_budget_mb)


@dataclasses.dataclass(frozen=True)
class MaximizeConfig(_Config):
    """`nnvisual maximize` (docs/study.md, "Class reconstruction")."""

    SECTION: ClassVar[str] = "maximize"
    model: str = "vgg16"
    weights: str = "imagenet"
    image_size: str | None = None  # N or HxW: for a model that takes any size (parse_image_size)
    target_class: str = "284"
    n: int = 5
    steps: int = 20
    step_size: float = 1e-4
    objective: str = "logit"
    init: str = "paper"
    l2_decay: float = 0.0
    tv_weight: float = 0.0
    jitter: int = 0
    blur_every: int = 0
    blur_sigma: float = 1.0
    clip: bool = False
    optimizer: str = "study"  # pixel ascent's update rule (optvis.render): the study's or Adam
    param: str = "pixel"  # lucid's parametrizations (optvis.param): pixel or fft
    decorrelate: bool = False
    learning_rate: float = 0.05  # Adam, for fft or decorrelated images (lucid's default)
    transforms: str = "none"  # optvis.transforms: none, standard or a list
    diversity: float = 0.0
    diversity_layer: str | None = None
    channel_grid: str | None = None  # LAYER or LAYER:C1,C2,...
    retrain_on: str | None = None
    retrain_epochs: int = 10
    retrain_lr: float = 1e-3
    retrain_batch_size: int = 32
    retrain_val_split: float = 0.3
    retrain_patience: int = 3
    seed: int = 0

    def check(self):
        parse_image_size(self.image_size)
        _check(self.n >= 1, f"n must be at least 1, got {self.n}")
        _check(self.steps >= 1, f"steps must be at least 1, got {self.steps}")
        _check(self.step_size > 0, f"step_size must be positive, got {self.step_size}")
        if self.objective not in choices.OBJECTIVES:  # an expression (optvis.objective_parser)
            from nnvisual.optvis.objective_parser import parse_objective

            parse_objective(self.objective, lambda spec: 0)
        _check_choice(self.init, "init", choices.INITS)
        _check_choice(self.param, "param", choices.PARAMS)
        _check_choice(self.optimizer, "optimizer", choices.OPTIMIZERS)
        _check(self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}")
        _check(self.diversity >= 0, f"diversity must be >= 0, got {self.diversity}")
        _check(not self.diversity or self.diversity_layer,
               "diversity needs a diversity_layer (--diversity-layer LAYER)")
        from nnvisual.optvis.transforms import parse_transforms

        parse_transforms(self.transforms)
        from nnvisual.optvis.regularizers import Regularizers

        settings_from(self, Regularizers)  # its own checks of the priors' values
        _check(self.retrain_epochs >= 1, "retrain_epochs must be at least 1")
        _check(self.retrain_lr > 0, f"retrain_lr must be positive, got {self.retrain_lr}")
        _check(self.retrain_batch_size >= 1, "retrain_batch_size must be at least 1")
        _check(self.retrain_patience >= 0, "retrain_patience must be >= 0")
        _check(0 < self.retrain_val_split < 1, "retrain_val_split must be in (0, 1)")


@dataclasses.dataclass(frozen=True)
class ScoreBowConfig(_Config):
    """`nnvisual score-bow` (docs/study.md, "Bag of visual words")."""

    SECTION: ClassVar[str] = "score_bow"
    descriptor: str = "sift"  # sift, dense-sift, or harris (Harris corners with SIFT descriptors)
    size: int = 100  # side of the grey image the descriptors see, pixels
    contrast_threshold: float = 0.03  # OpenCV SIFT; = vlfeat peak threshold 0.01 x 3 layers
    dense_step: int = 10  # dense-sift grid spacing, pixels
    patch_size: float = 16.0  # dense-sift and harris keypoint diameter, pixels
    harris_max_corners: int = 100
    harris_quality: float = 0.01  # corners above this fraction of the best Harris response
    harris_min_distance: float = 3.0  # pixels between corners
    repeatability_tolerance: float = 1.5  # pixels (Schmid et al. 2000)
    vocab_size: int = 10
    idf: str = "smooth"  # smooth: log((1+N)/(1+N_w))+1; plain: Sivic & Zisserman's log(N/N_w)
    weighting: str = "consistent"  # study-2019: the study's own scoring (docs/table3.md)
    study_idf: str = "before"  # study-2019's query idf: before log(N/df), after log(N/(df+1))
    class_count: int | None = None  # only the first N class images (the study had 11 photos)
    ratio: float = 0.8  # Lowe's ratio test
    ransac_iterations: int = 100
    ransac_threshold: float = 15.0  # pixels
    bootstrap: int = 10000
    seed: int = 0

    def check(self):
        _check_choice(self.descriptor, "descriptor", choices.DESCRIPTORS)
        _check(self.size >= 16, f"size must be at least 16 pixels, got {self.size}")
        _check(self.contrast_threshold >= 0, "contrast_threshold must be >= 0")
        _check(1 <= self.dense_step <= self.size,
               f"dense_step must be between 1 and size ({self.size}), got {self.dense_step}")
        _check(self.patch_size > 0, "patch_size must be positive")
        _check(self.harris_max_corners >= 1, "harris_max_corners must be at least 1")
        _check(0 < self.harris_quality < 1, "harris_quality must be in (0, 1)")
        _check(self.harris_min_distance >= 0, "harris_min_distance must be >= 0")
        _check(self.repeatability_tolerance > 0, "repeatability_tolerance must be positive")
        _check(self.vocab_size >= 2, f"vocab_size must be at least 2, got {self.vocab_size}")
        _check_choice(self.idf, "idf", choices.IDF_WEIGHTINGS)
        _check_choice(self.weighting, "weighting", choices.BOW_WEIGHTINGS)
        _check_choice(self.study_idf, "study_idf", choices.STUDY_IDFS)
        _check(self.class_count is None or self.class_count >= 2,
               f"class_count must be at least 2, got {self.class_count}")
        _check(0 < self.ratio <= 1, "ratio must be in (0, 1]")
        _check(self.ransac_iterations >= 1, "ransac_iterations must be at least 1")
        _check(self.ransac_threshold > 0, "ransac_threshold must be positive")
        _check(self.bootstrap >= 100, "bootstrap must be at least 100")


def _check_cache(cache: str, memory_budget_mb: float) -> None:
    _check_choice(cache, "cache", choices.CACHE_MODES)
    _check(memory_budget_mb >= 0, f"memory_budget_mb must be >= 0, got {memory_budget_mb}")


def _check_shard(spec: str | None) -> None:
    if spec is not None:
        shards.parse(spec)


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
    _check(len(size) in (1, 2) and min(size) >= 1,
           f"image_size must be N or HxW in pixels (e.g. 224 or 224x160), got '{spec}'")
    return (size[0], size[-1])


def _check_methods(methods, allowed) -> None:
    _check(len(methods) >= 1, "give at least one method")
    for method in methods:
        _check_choice(method, "method", allowed)


@dataclasses.dataclass(frozen=True)
class AttributeConfig(_Config):
    """`nnvisual attribute` (docs/sanity-checks.md; nnvisual.attribution)."""

    SECTION: ClassVar[str] = "attribute"
    model: str = "vgg16"
    weights: str = "imagenet"
    image_size: str | None = None  # N or HxW: for a model that takes any size (parse_image_size)
    images: str | None = None  # an image file or a folder of images
    methods: tuple[str, ...] = ("saliency", "integrated-gradients", "gradcam")
    target_class: str = "auto"  # auto: each image's top-1 class
    layer: str | None = None  # CAM layer; None: the last 4-D feature map
    batch_size: int = 16
    baseline: str = "black"
    steps: int = 50  # integrated gradients, Gauss-Legendre points
    samples: int = 25  # smoothgrad (Smilkov et al. 2017 use 25-50)
    noise: float = 0.15  # smoothgrad, fraction of the image's range (Smilkov et al.: 10-20%)
    smoothgrad_base: str = "saliency"
    window: int | None = None  # occlusion; None: 1/8 of the smaller image side
    stride: int | None = None  # occlusion; None: half the window
    seed: int = 0
    shard: str | None = None  # I/N: attribute only that block of the images (nnvisual.runtime.shards)

    def check(self):
        parse_image_size(self.image_size)
        _check_methods(self.methods, choices.ATTRIBUTION_METHODS)
        _check(self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}")
        _check_choice(self.baseline, "baseline", choices.BASELINES)
        _check(self.steps >= 1, f"steps must be at least 1, got {self.steps}")
        _check(self.samples >= 1, f"samples must be at least 1, got {self.samples}")
        _check(self.noise >= 0, f"noise must be >= 0, got {self.noise}")
        _check_choice(self.smoothgrad_base, "smoothgrad_base", choices.SMOOTHGRAD_BASES)
        _check(self.window is None or self.window >= 1, f"window must be at least 1, got {self.window}")
        _check(self.stride is None or self.stride >= 1, f"stride must be at least 1, got {self.stride}")
        _check_shard(self.shard)


@dataclasses.dataclass(frozen=True)
class SanityConfig(AttributeConfig):
    """`nnvisual sanity` (Adebayo et al. 2018; Petsiuk et al. 2018; docs/sanity-checks.md)."""

    SECTION: ClassVar[str] = "sanity"
    methods: tuple[str, ...] = ("saliency", "integrated-gradients", "gradcam", "guided",
                                "deconvnet")
    randomizations: tuple[str, ...] = ("cascading", "independent")
    max_images: int = 16  # the first images of the folder
    curve_steps: int = 32  # deletion/insertion: pixels changed in this many equal steps
    bootstrap: int = 2000

    def check(self):
        super().check()
        for mode in self.randomizations:
            _check_choice(mode, "randomization", choices.RANDOMIZATIONS)
        _check(self.max_images >= 2, f"max_images must be at least 2, got {self.max_images}")
        _check(self.curve_steps >= 2, f"curve_steps must be at least 2, got {self.curve_steps}")
        _check(self.bootstrap >= 100, "bootstrap must be at least 100")
        _check(self.shard is None, "sanity takes no shard: its checks compare the images together")


SECTIONS = {cls.SECTION: cls for cls in (TrainConfig, DeconvConfig, MaximizeConfig, ScoreBowConfig,
                                         AttributeConfig, SanityConfig)}


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
