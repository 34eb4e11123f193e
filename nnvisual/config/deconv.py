"""``nnvisual deconv``'s settings (docs/study.md, "DeconvNet")."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual import choices
from nnvisual.config.fields import (
    Config,
    cache_setting,
    check,
    check_cache,
    check_choice,
    check_shard,
    image_size_setting,
    memory_budget_setting,
    model_setting,
    parse_image_size,
    seed_setting,
    setting,
    shard_setting,
    weights_setting,
)
from nnvisual.errors import named


@dataclasses.dataclass(frozen=True)
class DeconvConfig(Config):
    """`nnvisual deconv` (docs/study.md, "DeconvNet")."""

    SECTION: ClassVar[str] = "deconv"
    model: str = model_setting()
    weights: str = weights_setting()
    image_size: str | None = image_size_setting()
    image: str | None = setting(None, "Input image (any common format)", metavar="PATH",
                                shown_default="scikit-learn's sample photo china.jpg")
    layers: tuple[str, ...] | None = setting(
        None, "Layers with a 4-D output, outer/inner inside nested models", metavar="A,B,...",
        shown_default="block1_conv1..block5_conv1 for VGG16, every Conv2D of a chain, else each "
                      "stage's last feature map")
    top_k: int = setting(8, "Channels per layer")
    mode: str = setting("max", "Project from the channel's strongest activation (max, the "
                               "paper's) or its whole map", choices=choices.DECONV_MODES)
    method: str = setting("deconvnet", "ReLU backward rule: deconvnet (the paper's), guided "
                                       "backprop or gradient", choices=choices.DECONV_METHODS)
    top9: bool = setting(False, "Also show each channel's 9 strongest dataset images (Zeiler & "
                                "Fergus Fig. 2)", flag="--top9")
    top9_split: str = setting("test", "The dataset split --top9 scans", choices=choices.SPLITS)
    top9_images: int = setting(2000, "Images of the split scanned for --top9, stratified")
    seed: int = seed_setting()
    shard: str | None = shard_setting()
    cache: str = cache_setting("The --top9 dataset")
    memory_budget_mb: float = memory_budget_setting()

    def check(self):
        parse_image_size(self.image_size)
        check(self.top_k >= 1, f"top_k must be at least 1, got {self.top_k}")
        check_choice(self.mode, "mode", choices.DECONV_MODES)
        check_choice(self.method, "method", choices.DECONV_METHODS)
        check_choice(self.top9_split, "top9_split", choices.SPLITS)
        check(self.top9_images >= 9, f"top9_images must be at least 9, got {self.top9_images}")
        check(self.shard is None or self.top9,
              f"shard splits the top-9 scan: give {named('top9', True)} with it")
        check_shard(self.shard)
        check_cache(self.cache, self.memory_budget_mb)
