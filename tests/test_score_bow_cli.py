"""`nnvisual score-bow` end to end on a fabricated maximize run, and its error cases."""

import cv2
import numpy as np
import pytest

from nnvisual.testing.images import write_textured_folder
from nnvisual.testing.run_files import flip_byte, read_csv, read_manifest
from nnvisual.testing.run_folders import maximize_run

SIZE = 64
N = 4


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("score-bow-inputs")
    return {"run": maximize_run(root / "maximize-run", n=N),
            "classes": write_textured_folder(root / "classes", range(10)),
            "training": write_textured_folder(root / "training", range(20, 26))}


def test_end_to_end_on_a_maximize_run(cli, inputs, isolated):
    args = ("score-bow", "--reconstructions", inputs["run"], "--class-images", inputs["classes"],
            "--size", SIZE, "--vocab-size", 5, "--seed", 0)
    result = cli(*args, "--out", "out")
    assert result.exit_code == 0, result.output
    assert "before: median" in result.output and "wrote out" in result.output

    out = isolated / "out"
    manifest = read_manifest(out)
    assert manifest["status"] == "complete" and manifest["command"] == "score-bow"
    assert manifest["keypoints"]["before"]["without_keypoints"] == 1
    for figure in ("closest", "contributions"):
        assert (out / f"figures/{figure}.png").stat().st_size > 10_000

    scores = read_csv(out / "tables/scores.csv")
    assert list(scores[0]) == ["phase", "reconstruction", "class_image", "score"]
    assert len(scores) == 2 * N * 10
    values = np.array([float(r["score"]) for r in scores])
    assert values.min() >= 0 and values.max() <= 1
    flat = [float(r["score"]) for r in scores if (r["phase"], r["reconstruction"]) ==
            ("before", f"{N - 1:02d}.png")]
    assert flat == [0.0] * 10

    table3 = read_csv(out / "tables/table3.csv")
    assert [r["phase"] for r in table3] == ["before", "after"]
    assert list(table3[0]) == ["phase", "n", "mean_max_score", "mean_ci_low", "mean_ci_high",
                               "median_max_score", "median_ci_low", "median_ci_high"]
    for row in table3:
        maxima = [max(float(r["score"]) for r in scores if r["phase"] == row["phase"]
                      and r["reconstruction"] == f"{i:02d}.png") for i in range(N)]
        assert int(row["n"]) == N
        assert float(row["mean_max_score"]) == pytest.approx(np.mean(maxima), abs=1e-5)
        low, mean, high = (float(row[k]) for k in ("mean_ci_low", "mean_max_score", "mean_ci_high"))
        assert low <= mean <= high

    (comparison,) = read_csv(out / "tables/comparison.csv")
    assert comparison["comparison"] == "after - before" and int(comparison["n_pairs"]) == N
    assert 0 <= float(comparison["p_value"]) <= 1 and comparison["note"] == ""

    contributions = read_csv(out / "tables/contributions.csv")
    assert list(contributions[0]) == ["phase", "reconstruction", "training_image",
                                      "inlier_matches", "share"]
    assert len(contributions) == 2 * N * 10  # training images default to the class images
    by_reconstruction = {}
    for r in contributions:
        by_reconstruction.setdefault((r["phase"], r["reconstruction"]), []).append(r)
    assert len(by_reconstruction) == 2 * N
    for key, rows in by_reconstruction.items():  # share = inliers / the reconstruction's total
        inliers = [int(r["inlier_matches"]) for r in rows]
        shares = [float(r["share"]) for r in rows]
        expected = [count / sum(inliers) if sum(inliers) else 0.0 for count in inliers]
        assert shares == pytest.approx(expected, rel=1e-5), key
    flat = by_reconstruction[("before", f"{N - 1:02d}.png")]  # no keypoints, so no matches
    assert [(r["inlier_matches"], r["share"]) for r in flat] == [("0", "0")] * 10
    # before/00.png is drawn from seed 0 as class image img000.png is, at half the size: the
    # same shapes and colours, so img000.png contributes the most inliers
    rows = by_reconstruction[("before", "00.png")]
    best = max(rows, key=lambda r: int(r["inlier_matches"]))
    assert best["training_image"] == "img000.png" and int(best["inlier_matches"]) > 0
    assert sum(float(r["share"]) for r in rows) == pytest.approx(1.0, abs=1e-5)

    harris = read_csv(out / "tables/harris.csv")
    assert list(harris[0]) == ["phase", "reconstruction", "training_image",
                               "reconstruction_corners", "image_corners", "repeatability"]
    assert len(harris) == 2 * N * 10

    keypoints = read_csv(out / "tables/keypoints.csv")
    assert list(keypoints[0]) == ["set", "image", "keypoints", "harris_corners"]
    for name, summary in manifest["keypoints"].items():
        counts = [int(r["keypoints"]) for r in keypoints if r["set"] == name]
        assert summary["median"] == np.median(counts) and summary["images"] == len(counts)
    assert [r["set"] for r in keypoints].count("class_images") == 10
    assert {"before", "after", "class_images"} == {r["set"] for r in keypoints}

    again = cli(*args, "--out", "again")  # same seed, same tables
    assert again.exit_code == 0, again.output
    for table in ("scores", "table3", "comparison", "contributions", "harris", "keypoints"):
        assert ((out / f"tables/{table}.csv").read_bytes()
                == (isolated / f"again/tables/{table}.csv").read_bytes())


def test_plain_folder_with_training_images_and_dense_sift(cli, inputs, isolated):
    result = cli("score-bow", "--reconstructions", inputs["training"], "--class-images",
                 inputs["classes"], "--training-images", inputs["run"] / "after",
                 "--descriptor", "dense-sift", "--size", SIZE, "--vocab-size", 4, "--out", "o")
    assert result.exit_code == 0, result.output
    table3 = read_csv(isolated / "o/tables/table3.csv")
    assert [(r["phase"], r["n"]) for r in table3] == [("training", "6")]
    (comparison,) = read_csv(isolated / "o/tables/comparison.csv")
    assert comparison["p_value"] == "nan" and "needs before/ and after/" in comparison["note"]
    contributions = read_csv(isolated / "o/tables/contributions.csv")
    assert {r["training_image"] for r in contributions} == {f"{i:02d}.png" for i in range(N)}
    keypoints = read_csv(isolated / "o/tables/keypoints.csv")
    assert {r["keypoints"] for r in keypoints} == {str((SIZE // 10) ** 2)}  # the dense grid
    assert [r["set"] for r in keypoints].count("training_images") == N


def test_small_images_are_reported_to_give_few_keypoints(cli, inputs, isolated):
    result = cli("score-bow", "--reconstructions", inputs["training"], "--class-images",
                 inputs["classes"], "--size", 24, "--vocab-size", 3, "--out", "small")
    assert result.exit_code == 0, result.output
    assert "note: few keypoints per image" in result.output


@pytest.mark.parametrize("case, message", [
    ("missing", "reconstructions not found"),
    ("empty", "no images"),
    ("wrong-command", "is a 'train' run, not a 'maximize' run"),
    ("incomplete", "incomplete 'maximize' run"),
    ("missing-classes", "image source not found"),
    ("flat-classes", "only 0 descriptors to build a vocabulary"),
    ("changed-image", "changed/after/01.png does not match the sha256 its run recorded: the run "
                      "folder {isolated}/changed changed after it was written"),
    ("missing-image", "missing/before/02.png is missing: the run folder"),
    ("added-image", "added/after/99.png is not one of the files its run recorded"),
])
def test_errors_exit_2_with_one_line_and_no_run_folder(cli, inputs, isolated, case, message):
    reconstructions, classes = inputs["run"], inputs["classes"]
    if case == "missing":
        reconstructions = isolated / "nowhere"
    elif case == "empty":
        reconstructions = isolated / "empty"
        reconstructions.mkdir()
    elif case == "wrong-command":
        reconstructions = maximize_run(isolated / "train-run", command="train")
    elif case == "incomplete":
        reconstructions = maximize_run(isolated / "unfinished", finish=False)
    elif case == "missing-classes":
        classes = isolated / "no-classes"
    elif case.endswith("-image"):
        reconstructions = maximize_run(isolated / case.partition("-")[0], n=N)
        if case == "changed-image":
            flip_byte(reconstructions / "after/01.png")
        elif case == "missing-image":
            (reconstructions / "before/02.png").unlink()
        else:
            (reconstructions / "after/99.png").write_bytes((reconstructions / "after/00.png").read_bytes())
    else:
        classes = isolated / "flat"
        classes.mkdir()
        for i in range(3):
            cv2.imwrite(str(classes / f"{i}.png"), np.full((32, 32, 3), 60 * i, np.uint8))
    result = cli("score-bow", "--reconstructions", reconstructions, "--class-images", classes,
                 "--size", SIZE, "--out", "out")
    assert result.exit_code == 2
    assert message.format(isolated=isolated) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (isolated / "out").exists() and not (isolated / "results").exists()


def test_a_maximize_run_without_retraining_is_one_phase(isolated):
    from nnvisual.steps.score_bow import maximize_run_phases

    run = maximize_run(isolated / "no-retrain", phases=("before",), n=N)
    (phase,) = maximize_run_phases(run, (48, 48), read_manifest(run))
    assert phase.name == "before" and phase.names == [f"{i:02d}.png" for i in range(N)]
    assert phase.images.shape == (N, 48, 48, 3) and phase.images.dtype == np.uint8


def test_the_studys_weighting_on_request(cli, inputs, isolated):
    """--weighting study-2019 scores with the study's code path (docs/table3.md): recorded in
    the config, scores against the first --class-count class images as StudyVocabulary gives
    them."""
    from nnvisual import data
    from nnvisual.config import ScoreBowConfig, settings_from
    from nnvisual.descriptors import extract, study2019
    from nnvisual.descriptors.bow import cosine_scores

    result = cli("score-bow", "--reconstructions", inputs["run"], "--class-images",
                 inputs["classes"], "--size", SIZE, "--vocab-size", 5, "--weighting", "study-2019",
                 "--study-idf", "after", "--class-count", 6, "--out", "study")
    assert result.exit_code == 0, result.output
    config = read_manifest(isolated / "study")["config"]
    assert (config["weighting"], config["study_idf"]) == ("study-2019", "after")
    settings = settings_from(ScoreBowConfig(size=SIZE), extract.Settings)

    def descriptors(folder):
        images = data.read_images(data.list_images(folder), (SIZE, SIZE))
        return [f.features.descriptors for f in extract.extract(images, settings)]

    vocabulary = study2019.StudyVocabulary(5, 0, "after")
    classes = vocabulary.fit_transform(descriptors(inputs["classes"])[:6])  # the first 6
    expected = cosine_scores(vocabulary.transform(descriptors(inputs["run"] / "after")), classes)
    scores = read_csv(isolated / "study" / "tables/scores.csv")
    assert sorted({r["class_image"] for r in scores}) == [f"img{i:03d}.png" for i in range(6)]
    got = np.array([float(r["score"]) for r in scores if r["phase"] == "after"]).reshape(N, 6)
    np.testing.assert_allclose(got, expected, atol=1e-6)
