"""Benchmark: the whole score-bow scoring relative to SIFT extraction alone (target <= 1.5x).

10 reconstructions (stand-ins: the first 10 CIFAR-10 training cats) are scored against the
1,000 test cats (``cifar10:cat``), all resized to the configured side as the command does. The
baseline is a plain loop of ``cv2.SIFT_create().detectAndCompute`` over the same 1,010 grey
images, the unavoidable cost; the pipeline is everything ``score-bow`` computes (parallel
extraction with no cache, Harris corners, vocabulary, histograms, scores, ratio test + RANSAC
against every class image, repeatability, bootstrap tables). Each is timed ``--repeats`` times
in this process, interleaved, and the fastest kept; CPU time (all threads) is shown too, as it
varies less than wall time when other jobs share the machine.

    NNVISUAL_DATA=~/.cache/nnvisual-data/cifar10-jpeg python scripts/bench_score_bow.py
"""

import argparse
import time

import cv2
import numpy as np

from nnvisual import data
from nnvisual.config import ScoreBowConfig
from nnvisual.descriptors import extract, scoring, sift, tables


def timed(function):
    """(wall seconds, CPU seconds of all this process's threads, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--class-images", default="cifar10:cat")
    parser.add_argument("--reconstructions", default="cifar10-train:cat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = ScoreBowConfig(size=args.size)
    settings = extract.Settings.from_config(config)
    side = (config.size, config.size)
    classes = scoring.ImageSet("class", *data.load_image_source(args.class_images, None, side))
    images, names = data.load_image_source(args.reconstructions, None, side)
    phase = scoring.ImageSet("reconstructions", images[:10], names[:10])
    greys = [sift.grey(image, config.size) for image in (*phase.images, *classes.images)]

    def baseline():
        detector = cv2.SIFT_create(contrastThreshold=config.contrast_threshold)
        return [detector.detectAndCompute(grey, None) for grey in greys]

    def pipeline():
        result = scoring.score([phase], classes, classes,
                               lambda x: extract.extract(x, settings), config)
        tables.table3(result, config.bootstrap, config.seed)
        tables.comparison(result, config.bootstrap, config.seed)
        return result

    times = {"baseline": [], "extraction": [], "pipeline": []}
    everything = np.concatenate([phase.images, classes.images])
    for _ in range(args.repeats):
        times["baseline"].append(timed(baseline)[:2])
        times["extraction"].append(timed(lambda: extract.extract(everything, settings))[:2])
        *seconds, result = timed(pipeline)
        times["pipeline"].append(seconds)
    wall = {name: min(t[0] for t in values) for name, values in times.items()}
    cpu = {name: min(t[1] for t in values) for name, values in times.items()}
    keypoints = sum(len(f.features) for f in result.class_features)
    print(f"{len(phase.names)} reconstructions x {len(classes.names)} class images at "
          f"{config.size}x{config.size} px, {keypoints} class keypoints; best of {args.repeats}")
    print(f"{'stage':<46}{'wall s':>8}{'x SIFT':>8}{'CPU s':>8}{'x SIFT':>8}")
    rows = [("SIFT extraction alone (baseline, 1,010 images)", "baseline"),
            ("score-bow extraction (SIFT + Harris, 1,010)", "extraction"),
            ("whole score-bow scoring (no cache)", "pipeline")]
    for label, name in rows:
        print(f"{label:<46}{wall[name]:>8.3f}{wall[name] / wall['baseline']:>8.2f}"
              f"{cpu[name]:>8.3f}{cpu[name] / cpu['baseline']:>8.2f}")
    ratio = wall["pipeline"] / wall["baseline"]
    print(f"ratio whole / SIFT alone: {ratio:.2f}x wall, "
          f"{cpu['pipeline'] / cpu['baseline']:.2f}x CPU (target <= 1.5x)")


if __name__ == "__main__":
    main()
