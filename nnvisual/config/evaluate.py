"""``nnvisual evaluate``'s settings (docs/evaluation.md; :mod:`nnvisual.evaluation`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual.config.attribute import AttributeConfig, _methods_about
from nnvisual.config.fields import check, check_choice, setting, settings_from


def _metrics_about() -> str:
    from nnvisual.evaluation import metrics

    return f"Metrics, comma-separated: {metrics.described()}"


@dataclasses.dataclass(frozen=True)
class EvaluateConfig(AttributeConfig):
    """`nnvisual evaluate` (docs/evaluation.md): the maps of ``methods`` judged by ``metrics``."""

    SECTION: ClassVar[str] = "evaluate"
    methods: tuple[str, ...] = setting(("saliency", "integrated-gradients", "gradcam"),
                                       _methods_about, flag="--method", metavar="A,B,...")
    metrics: tuple[str, ...] = setting(("road-morf", "road-lerf", "faithfulness-correlation",
                                        "deletion", "insertion", "sparseness", "complexity",
                                        "completeness"), _metrics_about, flag="--metric",
                                       metavar="A,B,...")
    maps: str | None = setting(None, "An `attribute` run folder whose maps are judged instead of "
                                     "computing them (its methods and images, matched by name)",
                               metavar="RUN_DIR", shown_default="computed here")
    masks: str | None = setting(None, "The localisation metrics' masks: a folder with one image "
                                      "per image, of the same file stem, non-zero where the "
                                      "object is", metavar="DIR")
    max_images: int = setting(16, "The first images of --images used")
    bootstrap: int = setting(2000, "Bootstrap resamples of the images for each interval")
    eval_steps: int = setting(10, "Perturbation curves (ROAD, pixel flipping, deletion, "
                                  "insertion): pixels removed in this many equal steps")
    eval_runs: int = setting(20, "Faithfulness correlation: random pixel subsets per image")
    eval_subset: float = setting(0.05, "Faithfulness correlation: each subset's share of the "
                                       "pixels")
    eval_patch: int = setting(8, "Region perturbation: the side of a region in pixels")
    eval_regions: int = setting(20, "Region perturbation: regions removed, one per step")
    eval_road_noise: float = setting(0.01, "ROAD: the imputation's noise, a fraction of the "
                                           "input's range")
    eval_samples: int = setting(4, "Robustness: perturbed copies per image (each explained "
                                   "again)")
    eval_radius: float = setting(0.02, "Robustness: the perturbation's size, a fraction of the "
                                       "input's range")
    eval_shift: float = setting(0.1, "Input invariance: the constant added to the input, a "
                                     "fraction of its range")
    eval_smooth_samples: int = setting(8, "Smooth MPRT: noisy copies of each image whose maps "
                                          "are averaged (Quantus: 50)")
    eval_smooth_noise: float = setting(0.1, "Smooth MPRT: the noise's standard deviation, a "
                                            "fraction of each image's range")
    eval_bins: int = setting(100, "Efficient MPRT: the bins of the histogram whose entropy is "
                                  "a map's complexity")

    def check(self):
        from nnvisual.evaluation import metrics

        super().check()
        check(len(self.metrics) >= 1, "give at least one metric")
        for name in self.metrics:
            check_choice(name, "metric", metrics.names())
        check(self.max_images >= 2, f"max_images must be at least 2, got {self.max_images}")
        check(self.bootstrap >= 100, "bootstrap must be at least 100")
        check(self.shard is None, "evaluate takes no shard: its intervals resample the images "
                                  "together")
        for name, least in (("eval_steps", 2), ("eval_runs", 1), ("eval_patch", 1),
                            ("eval_regions", 1), ("eval_samples", 1)):
            value = getattr(self, name)
            check(value >= least, f"{name} must be at least {least}, got {value}")
        check(0 < self.eval_subset <= 1, f"eval_subset must be in (0, 1], got {self.eval_subset}")
        check(self.eval_road_noise >= 0, f"eval_road_noise must be >= 0, got {self.eval_road_noise}")
        check(self.eval_radius > 0, f"eval_radius must be > 0, got {self.eval_radius}")
        self.evaluation_settings()

    def evaluation_settings(self):
        """The metrics' parameters (:class:`nnvisual.evaluation.task.Settings`, which checks
        them)."""
        from nnvisual.evaluation.task import Settings

        return settings_from(self, Settings, prefix="eval_")
