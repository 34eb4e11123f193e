"""report.table3 and the partial-training table: Table 3 three ways with the artifact explained,
and a train run that has not finished shown for what it is."""

import json

import pytest

from nnvisual.report import collect, to_markdown
from nnvisual.report.comparison import partial_training
from nnvisual.testing.run_files import read_manifest
from nnvisual.testing.run_folders import SCORE_HEADER, fake_run

COMPARISON_HEADER = ("comparison", "n_pairs", "mean_difference", "ci_low", "ci_high",
                     "wilcoxon_statistic", "p_value", "note")


def scored(path, config, before, after, difference, class_images, p_value=0.43):
    rows = [("before", 10, *before), ("after", 10, *after)]
    comparison = [("after - before", 10, *difference, 20.0, p_value, "")]
    keypoints = [("before", "00.png", 300, 40),
                 *(("class_images", f"c{i}", 50, 20) for i in range(class_images))]
    return fake_run(path, "score-bow", config, [
        ("table3.csv", SCORE_HEADER, rows), ("comparison.csv", COMPARISON_HEADER, comparison),
        ("keypoints.csv", ("set", "image", "keypoints", "harris_corners"), keypoints)])


@pytest.fixture
def two_scorings(isolated):
    study = scored(isolated / "study", {"weighting": "study-2019", "study_idf": "before"},
                   (0.071, 0.06, 0.08, 0.07, 0.05, 0.09), (0.066, 0.05, 0.08, 0.065, 0.05, 0.08),
                   (-0.005, -0.02, 0.01), 11)
    consistent = scored(isolated / "consistent", {"weighting": "consistent", "idf": "plain"},
                        (0.957, 0.95, 0.96, 0.958, 0.95, 0.96),
                        (0.956, 0.95, 0.96, 0.957, 0.95, 0.96), (-0.001, -0.004, 0.002), 30)
    return collect([consistent, study], isolated / "rep")


def test_three_ways_side_by_side_published_first_then_the_studys_scoring(two_scorings):
    md = to_markdown(two_scorings)
    assert ("| Published (Réda & Xu 2019) |  | 11 photos | 10 | 0.050 | 0.050 | 0.095 | 0.090 | "
            "no test") in md
    assert ("| The study's, query idf log(N/df) | study | 11 | 10 | 0.071 [0.060, 0.080] | "
            "0.070 [0.050, 0.090] | 0.066 [0.050, 0.080] | 0.065 [0.050, 0.080] | "
            "-0.005 [-0.020, +0.010], p = 0.43 |") in md
    assert "| Consistent tf-idf (idf plain) | consistent | 30 | 10 | 0.957 [0.950, 0.960] |" in md
    assert md.index("| Published") < md.index("| The study's") < md.index("| Consistent")


def test_the_artifact_paragraph_gives_the_numbers(two_scorings):
    md = to_markdown(two_scorings)
    paragraph = next(line for line in md.splitlines() if line.startswith("The published 0.050"))
    assert "log(11/11) = 0" in paragraph and "n = 1" in paragraph
    assert ("The study's scoring on our reconstructions gives 0.071 before and 0.066 after "
            "(means; query idf log(N/df), 11 class images)") in paragraph
    assert ("A consistent tf-idf cosine gives 0.957 before and 0.956 after (means; 30 class "
            "images), after − before -0.001 (95% CI -0.004 to +0.002, Wilcoxon p = 0.43)") \
        in paragraph
    assert "0.953 before and 0.940 after" in paragraph


def test_all_zero_scores_have_no_p_value(isolated):
    zeros = (0, 0, 0, 0, 0, 0)
    run = scored(isolated / "zero", {"weighting": "study-2019", "study_idf": "after"}, zeros,
                 zeros, (0, 0, 0), 11, p_value=float("nan"))
    md = to_markdown(collect([run], isolated / "rep"))
    assert "| The study's, query idf log(N/(df+1)) | zero | 11 | 10 | 0.000 [0.000, 0.000] |" in md
    assert "| +0.000 [+0.000, +0.000], p = n/a |" in md


def test_no_three_ways_without_a_score_bow_run(isolated):
    run = fake_run(isolated / "deconv", "deconv", {})
    assert "Table 3 three ways" not in to_markdown(collect([run], isolated / "rep"))


HISTORY = {"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.45, 0.5], "val_loss": [1.9, 1.6, 1.4],
           "val_accuracy": [0.32, 0.41, 0.52], "seconds": [250.0, 270.0, 260.0]}


@pytest.mark.parametrize("status, where, state", [("interrupted", "stopped at", "interrupted"),
                                                  ("running", "running, at", "still running")])
def test_a_train_run_that_has_not_finished_shows_its_last_epoch_honestly(status, where, state):
    manifest = {"command": "train", "status": status, "history": HISTORY,
                "config": {"model": "bonaccorso", "epochs": 250}}
    table = partial_training(manifest, "history.csv")
    assert table.title == f"Table 2: bonaccorso ({where} epoch 3 of 250), ours vs. the paper"
    # last epoch: training 0.5 (logged), validation 0.52; paper 0.818 / 0.758
    assert table.rows[0] == ("Accuracy", "0.500", "n/a", "0.818", "-0.318", "0.520", "0.758",
                             "-0.238", "n/a")
    # mean 260 s per epoch x 247 epochs left = 64,220 s = 17 h 50 min
    assert f"The run is {state}: the values Keras logged in epoch 3" in table.note
    assert "At its mean 260 s per epoch, the remaining 247 epochs would take about 17 h 50 min" \
        in table.note


def test_no_partial_table_for_a_complete_run_or_one_without_epochs():
    complete = {"command": "train", "status": "complete", "history": HISTORY,
                "config": {"model": "plotka", "epochs": 3}}
    assert partial_training(complete, "") is None
    assert partial_training({**complete, "status": "interrupted", "history": {}}, "") is None


def test_report_of_an_interrupted_train_run_has_its_partial_table(isolated):
    path = fake_run(isolated / "train", "train", {"model": "plotka", "epochs": 10},
                    status="interrupted")
    manifest = read_manifest(path)
    manifest["history"] = HISTORY
    (path / "manifest.json").write_text(json.dumps(manifest))
    md = to_markdown(collect([path], isolated / "rep"))
    assert "**Table 1: plotka (stopped at epoch 3 of 10), ours vs. the paper**" in md
    assert "| Accuracy | 0.500 | n/a | 0.566 | -0.066 | 0.520 | 0.515 | +0.005 | n/a |" in md
