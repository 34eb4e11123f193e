"""``nnvisual score-bow``'s settings (docs/study.md, "Bag of visual words")."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from nnvisual import choices
from nnvisual.config.fields import Config, check, check_choice, seed_setting, setting, settings_from


@dataclasses.dataclass(frozen=True)
class ScoreBowConfig(Config):
    """`nnvisual score-bow` (docs/study.md, "Bag of visual words")."""

    SECTION: ClassVar[str] = "score_bow"
    descriptor: str = setting("sift", "Keypoints: SIFT, a dense grid, or Harris corners; SIFT "
                                      "descriptors", choices=choices.DESCRIPTORS)
    size: int = setting(100, "Side of the grey image described, pixels")
    contrast_threshold: float = setting(0.03, "OpenCV SIFT's contrast threshold (vlfeat's peak "
                                              "threshold 0.01 x 3 layers)")
    dense_step: int = setting(10, "dense-sift's grid spacing, pixels")
    patch_size: float = setting(16.0, "dense-sift's and harris' keypoint diameter, pixels")
    harris_max_corners: int = setting(100, "Harris corners kept per image, at most")
    harris_quality: float = setting(0.01, "Harris corners above this fraction of the best "
                                          "response")
    harris_min_distance: float = setting(3.0, "Pixels between Harris corners, at least")
    repeatability_tolerance: float = setting(1.5, "Distance within which a corner is repeated, "
                                                  "pixels (Schmid et al. 2000)")
    vocab_size: int = setting(10, "Visual words")
    idf: str = setting("smooth", "Inverse document frequency: smooth log((1+N)/(1+N_w))+1, or "
                                 "plain, Sivic & Zisserman's log(N/N_w)",
                       choices=choices.IDF_WEIGHTINGS)
    weighting: str = setting("consistent", "consistent tf-idf, or study-2019: the study's own "
                                           "scoring, which explains Table 3's tiny numbers "
                                           "(docs/table3.md)", choices=choices.BOW_WEIGHTINGS)
    study_idf: str = setting("before", "study-2019's query idf: before log(N/df), after "
                                       "log(N/(df+1))", choices=choices.STUDY_IDFS)
    class_count: int | None = setting(None, "Only the first N class images (the study scored "
                                            "against 11 photos)", metavar="N", shown_default="all")
    ratio: float = setting(0.8, "Lowe's ratio test")
    ransac_iterations: int = setting(100, "RANSAC iterations")
    ransac_threshold: float = setting(15.0, "RANSAC's inlier distance, pixels")
    bootstrap: int = setting(10000, "Bootstrap resamples")
    seed: int = seed_setting()

    def check(self):
        self.features()
        check(self.repeatability_tolerance > 0, "repeatability_tolerance must be positive")
        check(self.vocab_size >= 2, f"vocab_size must be at least 2, got {self.vocab_size}")
        check_choice(self.idf, "idf", choices.IDF_WEIGHTINGS)
        check_choice(self.weighting, "weighting", choices.BOW_WEIGHTINGS)
        check_choice(self.study_idf, "study_idf", choices.STUDY_IDFS)
        check(self.class_count is None or self.class_count >= 2,
              f"class_count must be at least 2, got {self.class_count}")
        check(0 < self.ratio <= 1, "ratio must be in (0, 1]")
        check(self.ransac_iterations >= 1, "ransac_iterations must be at least 1")
        check(self.ransac_threshold > 0, "ransac_threshold must be positive")
        check(self.bootstrap >= 100, "bootstrap must be at least 100")

    def features(self):
        """How features are extracted (:class:`nnvisual.descriptors.extract.Settings`, which
        checks its values)."""
        from nnvisual.descriptors.extract import Settings

        return settings_from(self, Settings)
