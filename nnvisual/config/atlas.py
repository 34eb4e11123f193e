"""``nnvisual atlas``'s settings (docs/atlas.md)."""

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
    weights_setting,
)


@dataclasses.dataclass(frozen=True)
class AtlasConfig(Config):
    """`nnvisual atlas` (docs/atlas.md)."""

    SECTION: ClassVar[str] = "atlas"
    model: str = model_setting()
    weights: str = weights_setting()
    image_size: str | None = image_size_setting()
    layers: tuple[str, ...] | None = setting(
        None, "Layers with a 4-D output, outer/inner inside nested models", metavar="A,B,...",
        shown_default="as deconv: every Conv2D of a chain, else each stage's last feature map")
    channels: int | None = setting(None, "The first N channels of each layer", metavar="N",
                                   shown_default="all")
    examples: int = setting(9, "Dataset examples shown per channel, strongest and weakest")
    split: str = setting("test", "The dataset split scanned for examples", choices=choices.SPLITS)
    scan_images: int = setting(2000, "Images of the split scanned, stratified by class (the "
                                     "same draw as deconv --top9-images)")
    visualizations: int = setting(2, "Feature visualizations per channel (different seeds)")
    steps: int = setting(256, "Optimization steps of each feature visualization")
    learning_rate: float = setting(0.05, "Adam learning rate of the feature visualizations "
                                         "(lucid's)", flag="--lr")
    transforms: str = setting("standard", "Random transformations each step: standard (lucid's) "
                                          "or e.g. pad=4,jitter=2,scale=0.9:1.1,rotate=5",
                              metavar="none|standard|LIST")
    initial_sd: float = setting(0.3, "Standard deviation of the visualizations' initial values "
                                     "(lucid's is 0.01, from which a channel that is zero on a flat "
                                     "image cannot climb)")
    classes: int = setting(100, "Class feature visualizations: every class of a classifier with at "
                                "most N, else the N that the channels shown feed most strongly "
                                "(none where no channel feeds the scores directly); 0: none",
                           metavar="N")
    block: int = setting(64, "Channels whose visualizations are optimized together, one batch")
    seed: int = seed_setting()
    shard: str | None = setting(None, "Only block I of N (0 <= I < N) of each layer's channels, "
                                      "in whole blocks; combine the N runs with `nnvisual merge`",
                                metavar="I/N", shown_default="all")
    cache: str = cache_setting("The dataset")
    memory_budget_mb: float = memory_budget_setting()

    def check(self):
        parse_image_size(self.image_size)
        check(self.channels is None or self.channels >= 1,
              f"channels must be at least 1, got {self.channels}")
        check(self.classes >= 0, f"classes must be at least 0, got {self.classes}")
        check(self.examples >= 1, f"examples must be at least 1, got {self.examples}")
        check_choice(self.split, "split", choices.SPLITS)
        check(self.scan_images >= self.examples, f"scan_images must be at least examples "
                                                 f"({self.examples}), got {self.scan_images}")
        check(self.visualizations >= 1, f"visualizations must be at least 1, got {self.visualizations}")
        check(self.steps >= 1, f"steps must be at least 1, got {self.steps}")
        check(self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}")
        check(self.initial_sd > 0, f"initial_sd must be positive, got {self.initial_sd}")
        check(self.block >= 1, f"block must be at least 1, got {self.block}")
        check_shard(self.shard)
        check_cache(self.cache, self.memory_budget_mb)
