"""Benchmark: the whole score-bow scoring relative to SIFT extraction alone (target <= 1.5x).

10 reconstructions (stand-ins: the first 10 CIFAR-10 training cats) are scored against the
1,000 test cats (``cifar10:cat``), all resized to the configured side as the command does. The
baseline is a plain loop of ``cv2.SIFT_create().detectAndCompute`` over the same 1,010 grey
images, the unavoidable cost; the pipeline is everything ``score-bow`` computes (parallel
extraction with no cache, Harris corners, vocabulary, histograms, scores, ratio test + RANSAC
against every class image, repeatability, bootstrap tables). Each runs ``repeats`` times,
alternating; the median wall and CPU seconds (all threads of the process) are reported: CPU
time varies less than wall time when other jobs share the machine.

    NNVISUAL_DATA=~/.cache/nnvisual-data/cifar10-jpeg python scripts/bench_score_bow.py [--quick]
"""

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

SIZES = {"default": {"size": 100, "class_images": 1000, "repeats": 5},
         "quick": {"size": 64, "class_images": 100, "repeats": 1}}
RECONSTRUCTIONS = 10
BASELINE = "SIFT alone (baseline)"


def run(size: int, class_images: int, repeats: int) -> list[Row]:
    """Rows: wall and CPU seconds of SIFT alone, score-bow's extraction and the whole scoring."""
    import cv2
    import numpy as np

    from nnvisual import data
    from nnvisual.config import ScoreBowConfig, settings_from
    from nnvisual.descriptors import extract, sift
    from nnvisual.steps import score_bow as scoring

    config = ScoreBowConfig(size=size)
    settings = settings_from(config, extract.Settings)
    side = (config.size, config.size)
    cats, cat_names = data.load_image_source("cifar10:cat", None, side)
    classes = scoring.ImageSet("class", cats[:class_images], cat_names[:class_images])
    images, names = data.load_image_source("cifar10-train:cat", None, side)
    phase = scoring.ImageSet("reconstructions", images[:RECONSTRUCTIONS], names[:RECONSTRUCTIONS])
    everything = np.concatenate([phase.images, classes.images])
    greys = [sift.grey(image, config.size) for image in everything]

    def sift_alone():
        detector = cv2.SIFT_create(contrastThreshold=config.contrast_threshold)
        return [detector.detectAndCompute(grey, None) for grey in greys]

    def pipeline():
        result = scoring.score([phase], classes, classes, lambda x: extract.extract(x, settings), config)
        scoring.table3_table(result, config.bootstrap, config.seed)
        scoring.comparison_table(result, config.bootstrap, config.seed)
        return result

    variants = {BASELINE: sift_alone,
                "score-bow extraction (SIFT + Harris)": lambda: extract.extract(everything, settings),
                "whole score-bow scoring (no cache)": pipeline}
    comparison = bench_harness.alternate(variants, repeats, warm_up=False)
    benchmark = f"score-bow {len(everything)} images {size}px"
    return [*bench_harness.ratio_rows(benchmark, "seconds", comparison.medians("wall"), BASELINE),
            *bench_harness.ratio_rows(benchmark, "CPU seconds", comparison.medians("cpu"), BASELINE)]


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
