"""Run folders made up for the tests of the commands that read other runs (``report``,
``score-bow``), written through :mod:`nnvisual.runs` as the real commands write theirs.

The one module of :mod:`nnvisual.testing` that imports the command layer: a made-up run is only
faithful if the run folder's own writer writes it.
"""

import matplotlib.pyplot as plt

from nnvisual import runs
from nnvisual.testing.images import textured_colour

SCORE_HEADER = ("phase", "n", "mean_max_score", "mean_ci_low", "mean_ci_high",
                "median_max_score", "median_ci_low", "median_ci_high")


def tiny_figure(label):
    """A small line plot titled ``label``."""
    figure, axis = plt.subplots(figsize=(1.5, 1))
    axis.plot([0, 1], [0, 1])
    axis.set_title(label)
    return figure


def fake_run(path, command, config, tables=(), figures=(), status="complete"):
    """A run folder of ``command`` at ``path`` with ``config``, the tables ``(name, header,
    rows)`` and a tiny figure per name of ``figures``; ``status`` "running" leaves it unfinished."""
    run = runs.create_run(command, "x", config, path)
    for name, header, rows in tables:
        run.write_csv(f"tables/{name}", header, rows)
    for name in figures:
        run.write_figure(f"figures/{name}", tiny_figure(name))
    if status == "running":
        run.save_manifest()  # as a command does after each checkpoint
    else:
        run.finish(status)
    return run.path


def train_run(path, status="complete"):
    """A 2-epoch plotka train run: its metrics table beside the paper's, history and curves."""
    metrics = (("metric", "training", "training_evaluated", "validation", "test", "paper_training",
                "paper_validation"),
               [("Accuracy", 0.6, 0.58, 0.5, 0.55, 0.566, 0.515),
                ("Loss", 1.1, 1.0, 1.4, 1.3, 1.213, 1.344)])
    history = (("epoch", "loss", "accuracy"), [(1, 2.25, 0.25), (2, 1.5, 0.4)])
    return fake_run(path, "train", {"model": "plotka", "epochs": 2},
                    [("metrics.csv", *metrics), ("history.csv", *history)], ["curves.png"], status)


def score_run(path, header=SCORE_HEADER, rows=None):
    """A score-bow run: Table 3 (``header``, ``rows``; before and after by default), 30 scores
    and two figures."""
    rows = rows or [("before", 10, 0.06, 0.04, 0.08, 0.055, 0.03, 0.07),
                    ("after", 10, 0.08, 0.06, 0.1, 0.07, 0.05, 0.09)]
    many = [(f"r{i}", i) for i in range(30)]
    tables = [("table3.csv", header, rows), ("scores.csv", ("reconstruction", "score"), many)]
    return fake_run(path, "score-bow", {"descriptor": "sift"}, tables,
                    ["histograms.png", "matches.png"])


def maximize_run(path, phases=("before", "after"), finish=True, command="maximize", n=4):
    """A maximize run folder as the maximize command writes it: ``before/NN.png``,
    ``after/NN.png``, ``n`` textured 32x32 images each (phase p's image i from seed 100 p + i),
    the last one before retraining flat: no keypoints, scored 0, never a crash."""
    run = runs.create_run(command, "fake", {"n": n}, out=path)
    for p, phase in enumerate(phases):
        for i in range(n):
            image = textured_colour(100 * p + i, 32)
            if phase == "before" and i == n - 1:
                image[:] = 90
            run.write_image(f"{phase}/{i:02d}.png", image)
    if finish:
        run.finish()
    return path
