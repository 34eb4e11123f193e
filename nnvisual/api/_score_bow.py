"""``nnvisual.score_bow``: reconstructions scored against class images with SIFT bags of
visual words, RANSAC-verified matches and Harris repeatability (the ``score-bow`` command)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np

from nnvisual.api._common import Progress, Result, no_progress, settings, with_settings
from nnvisual.api._maximize import Maximization
from nnvisual.config import ScoreBowConfig
from nnvisual.errors import UserError
from nnvisual.steps import score_bow as step


@dataclasses.dataclass(frozen=True)
class BowInputs:
    """Loaded images, resized: the phases of reconstructions, the class images and the images
    whose contributions are counted (the class images themselves by default)."""

    phases: list[step.ImageSet]
    class_images: step.ImageSet
    training_images: step.ImageSet
    run_name: str  # the run folder's default name


@dataclasses.dataclass(frozen=True)
class BowScores(Result):
    """What :func:`score_bow` computed.

    Attributes:
        config: the resolved settings (:class:`nnvisual.config.ScoreBowConfig`).
        computed: the step's result (:class:`nnvisual.steps.score_bow.Scoring`): per phase,
            each reconstruction's cosine ``scores`` against the class images (its
            ``max_scores``: Table 3), RANSAC ``inliers`` with each training image and their
            ``shares``, Harris ``repeatability``.
        run_name: the run folder's default name.
    Properties: ``tables`` (scores, Table 3, the before/after comparison, contributions,
    Harris, keypoints) and ``keypoints`` (per image set, keypoints per image).
    """

    command: ClassVar[str] = "score-bow"
    function: ClassVar[str] = "score_bow"
    config: ScoreBowConfig
    computed: step.Scoring
    run_name: str

    @property
    def tables(self) -> dict[str, tuple]:
        result, config = self.computed, self.config
        return {"scores": step.scores_table(result),
                "table3": step.table3_table(result, config.bootstrap, config.seed),
                "comparison": step.comparison_table(result, config.bootstrap, config.seed),
                "contributions": step.contributions_table(result),
                "harris": step.harris_table(result),
                "keypoints": step.keypoints_table(result)}

    @property
    def keypoints(self) -> dict[str, dict]:
        return step.keypoint_summary(self.computed)

    def plot(self, kind: str = "closest"):
        """``"closest"`` (Figure 6: each reconstruction beside its best-scoring class image) or
        ``"contributions"`` (the training images with the most verified matches); a matplotlib
        Figure."""
        from nnvisual.plots import bow as plots

        figures = {"closest": plots.closest_images, "contributions": plots.contributions}
        if kind not in figures:
            raise ValueError(f"unknown figure {kind!r}: choose closest or contributions")
        return figures[kind](self.computed)

    def write(self, run) -> None:
        for name, table in self.tables.items():
            run.write_csv(f"tables/{name}.csv", *table)
        run.write_figure("figures/closest.png", self.plot("closest"))
        run.write_figure("figures/contributions.png", self.plot("contributions"))
        run.manifest["keypoints"] = self.keypoints


def _image_set(name: str, images, data: str | None, side: tuple[int, int],
               count: int | None = None) -> step.ImageSet:
    """The first ``count`` (default all) images of a source (a folder, ``cifar10:<class>``) or of
    uint8 RGB arrays, at ``side``."""
    from nnvisual import data as datasets

    if isinstance(images, (str, Path)):
        arrays, names = datasets.load_image_source(str(images), data, side)
        return step.ImageSet(name, arrays[:count], names[:count])
    arrays = np.stack([datasets.resize(np.asarray(image, np.uint8), side)
                       for image in images[:count]])
    return step.ImageSet(name, arrays, [f"{name}-{i:03d}" for i in range(len(arrays))])


def _folder_phases(path: Path, side: tuple[int, int]) -> list[step.ImageSet]:
    """A complete maximize run's phases (before/, after/), or a folder's images as one phase
    named after the folder."""
    from nnvisual import runs

    if not path.exists():
        raise UserError(f"reconstructions not found: {path} (give a maximize run folder or a "
                        "folder of images)")
    if (path / runs.MANIFEST).exists():
        return step.maximize_run_phases(path, side, runs.require_complete_run(path, "maximize"))
    return [_image_set(path.resolve().name, path, None, side)]


def _phases(reconstructions, side: tuple[int, int]) -> list[step.ImageSet]:
    """The phases of a :class:`Maximization` (its displayed images), a ``{phase: images}``
    mapping, a maximize run folder, a folder of images or uint8 RGB arrays (one phase)."""
    if isinstance(reconstructions, Maximization):
        reconstructions = reconstructions.shown
    if isinstance(reconstructions, dict):
        return [_image_set(phase, images, None, side) for phase, images in reconstructions.items()]
    if isinstance(reconstructions, (str, Path)):
        return _folder_phases(Path(reconstructions), side)
    return [_image_set("reconstructions", reconstructions, None, side)]


def _run_name(reconstructions) -> str:
    """The run folder's name: the maximize run's, or the reconstructions folder's."""
    if isinstance(reconstructions, Maximization):
        return reconstructions.run_name
    if isinstance(reconstructions, (str, Path)):
        return Path(reconstructions).resolve().name
    return "reconstructions"


def _same_source(images, other) -> bool:
    """Whether two image arguments name the same folder or ``cifar10:<class>``."""
    return (isinstance(images, (str, Path)) and isinstance(other, (str, Path))
            and str(images) == str(other))


def prepare(config: ScoreBowConfig, reconstructions, class_images, training_images=None,
            data: str | None = None) -> BowInputs:
    """The images :func:`score_bow` scores, loaded and resized to ``config.size``; only the first
    ``config.class_count`` class images. Every UserError but class images without descriptors
    (found while scoring) happens here."""
    side = (config.size, config.size)
    phases = _phases(reconstructions, side)
    classes = _image_set("class", class_images, data, side, config.class_count)
    training = (classes if training_images is None or _same_source(training_images, class_images)
                else _image_set("training", training_images, data, side))
    return BowInputs(phases, classes, training, _run_name(reconstructions))


def compute(inputs: BowInputs, config: ScoreBowConfig,
            progress: Progress = no_progress) -> BowScores:
    """The scores of prepared ``inputs``; ``progress(done, total, label)`` per reconstruction."""
    from nnvisual.config import settings_from
    from nnvisual.descriptors import extract

    features = settings_from(config, extract.Settings)
    computed = step.score(inputs.phases, inputs.class_images, inputs.training_images,
                          lambda images: extract.cached_features(images, features), config,
                          progress)
    return BowScores(config, computed, inputs.run_name)


@with_settings(ScoreBowConfig)
def score_bow(reconstructions, class_images, training_images=None, *, data: str | None = None,
              progress: Progress | None = None, **settings_) -> BowScores:
    """Score reconstructions against real images of their class (the study's Table 3 and
    Figure 6): SIFT descriptors (Lowe 2004), a bag of visual words with tf-idf weighting (Sivic
    & Zisserman 2003) and cosine scores; each training image's RANSAC-verified matches
    (Fischler & Bolles 1981); Harris corner repeatability (Schmid et al. 2000).

    Parameters:
        reconstructions: :func:`maximize`'s result (its "before" and "after" images), a
            ``{phase: images}`` mapping, a complete ``maximize`` run folder (its before/ and
            after/ images), a folder of images, or uint8 RGB arrays (N, H, W, 3).
        class_images: a folder, ``"cifar10:<class>"`` / ``"cifar10-train:<class>"``, or arrays.
        training_images: the images whose contributions are counted (default: the class
            images), in the same forms.
        data: the dataset ``cifar10:<class>`` is drawn from (``"cifar10"`` or an image folder;
            default ``$NNVISUAL_DATA``, else cifar10).
        progress: called as ``progress(done, total, label)`` as the reconstructions are scored.
        **settings: the ``score-bow`` command's settings, listed below with their defaults.

    Returns:
        :class:`BowScores`: ``.computed`` (scores, inliers, repeatability), ``.tables``,
        ``.keypoints``, ``.plot("closest" | "contributions")`` (a matplotlib Figure),
        ``.save(path)`` (the run folder ``nnvisual score-bow`` writes).

    Raises:
        TypeError: an unknown keyword. UserError: a bad value, a missing or incomplete run
        folder, a folder without images, class images without descriptors.

    Example (``model``: e.g. a ``train`` run folder; ``folder``: ``"cifar10:cat"`` would
    draw CIFAR-10's cats; here a small CNN and an image folder):
        >>> import nnvisual as nv
        >>> synthesized = nv.maximize(model, 0, n=3, steps=5)
        >>> scores = nv.score_bow(synthesized, folder + "/train/cat", size=64, bootstrap=100)
        >>> scores.tables["table3"][0][:2]
        ('phase', 'n')
        >>> figure = scores.plot("closest")
    """
    config = settings(ScoreBowConfig, "score_bow", settings_)
    inputs = prepare(config, reconstructions, class_images, training_images, data)
    return compute(inputs, config, progress or no_progress)
