"""``nnvisual evaluate`` end to end on a tiny saved model: maps computed or read from an
``attribute`` run, every metric of the table, masks, and its refusals."""

import numpy as np
import pytest

from nnvisual.testing.run_files import read_csv, read_manifest

CHEAP = ("--eval-steps", 3, "--eval-runs", 4, "--eval-samples", 2, "--eval-regions", 3,
         "--eval-patch", 8, "--bootstrap", 100)


def test_evaluate_writes_the_table_values_and_ranking(cli, tiny_cnn, photos, tmp_path):
    from nnvisual.evaluation import metrics

    masks = tmp_path / "masks"
    masks.mkdir()
    import cv2

    for path in sorted(photos.iterdir()):
        mask = np.zeros((32, 32), np.uint8)
        mask[8:24, 8:24] = 255
        cv2.imwrite(str(masks / f"{path.stem}.png"), mask)
    every = ",".join(metrics.names())
    result = cli("evaluate", "--model", tiny_cnn, "--images", photos, "--method",
                 "saliency,gradcam,integrated-gradients", "--metric", every, "--masks", masks,
                 "--max-images", 4, "--steps", 4, *CHEAP, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    rows = read_csv(run / "tables" / "metrics.csv")
    assert list(rows[0]) == ["method", "metric", "value", "low", "high", "n"]
    assert len(rows) == 3 * len(metrics.names())
    for row in rows:
        assert float(row["low"]) <= float(row["value"]) <= float(row["high"]), row
        assert row["n"] == "4"
    values = np.load(run / "values.npz")
    assert values["gradcam/road-morf"].shape == (4,)
    integrated = {r["metric"]: float(r["value"]) for r in rows
                  if r["method"] == "integrated-gradients"}
    assert integrated["completeness"] < 0.2  # 4 Gauss-Legendre points on a small ReLU network
    assert {p.name for p in (run / "figures").iterdir()} == {"ranking.png"}
    assert read_manifest(run)["status"] == "complete"


def test_evaluate_reads_an_attribute_runs_maps(cli, tiny_cnn, photos, tmp_path):
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, "--method",
                 "saliency,gradcam", "--out", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    result = cli("evaluate", "--model", tiny_cnn, "--maps", tmp_path / "maps", "--method",
                 "gradcam", "--metric", "sparseness,deletion", *CHEAP, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "run" / "tables" / "metrics.csv")
    assert [(r["method"], r["metric"], r["n"]) for r in rows] == [
        ("gradcam", "sparseness", "6"), ("gradcam", "deletion", "6")]
    stored = np.load(tmp_path / "maps" / "attributions.npz")
    from nnvisual.evaluation.complexity import gini

    values = np.load(tmp_path / "run" / "values.npz")
    order = [list(stored["images"]).index(name) for name in values["images"]]
    np.testing.assert_allclose(values["gradcam/sparseness"], gini(stored["gradcam"][order]),
                               rtol=1e-6)


@pytest.mark.parametrize("arguments, message", [
    (("--metric", "pointing-game"), "pointing-game need masks: give --masks DIR"),
    (("--metric", "nonsense"), "unknown metric 'nonsense'"),
    (("--max-images", 1), "max_images must be at least 2"),
    (("--eval-subset", 2), "eval_subset must be in (0, 1], got 2"),
    (("--eval-steps", 1), "eval_steps must be at least 2, got 1"),
])
def test_evaluate_refuses_in_one_line_before_any_folder(cli, tiny_cnn, photos, tmp_path,
                                                        arguments, message):
    result = cli("evaluate", "--model", tiny_cnn, "--images", photos, *arguments,
                 "--out", tmp_path / "run")
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_evaluate_refuses_a_changed_or_foreign_maps_run(cli, tiny_cnn, photos, tmp_path):
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, "--method", "saliency",
                 "--out", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    result = cli("evaluate", "--model", tiny_cnn, "--maps", tmp_path / "maps", "--method",
                 "gradcam", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "has no maps of gradcam" in result.output
    (tmp_path / "maps" / "attributions.npz").write_bytes(b"changed")
    result = cli("evaluate", "--model", tiny_cnn, "--maps", tmp_path / "maps", "--method",
                 "saliency", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "does not match the sha256" in result.output
    assert not (tmp_path / "run").exists()


def test_the_api_computes_what_the_command_writes(cli, tiny_cnn, photos, tmp_path):
    import nnvisual as nv

    settings = {"methods": "saliency,gradcam", "metrics": "road-morf,faithfulness-correlation",
                "eval_steps": 3, "eval_runs": 4, "bootstrap": 100, "max_images": 3}
    result = nv.evaluate(str(tiny_cnn), str(photos), **settings)
    assert result.tables["metrics"][0] == ("method", "metric", "value", "low", "high", "n")
    assert type(result.plot()).__name__ == "Figure"
    flags = [f"--{key.replace('_', '-')}" if key not in ("methods", "metrics")
             else f"--{key[:-1]}" for key in settings]
    arguments = [item for flag, value in zip(flags, settings.values(), strict=True)
                 for item in (flag, value)]
    assert cli("evaluate", "--model", tiny_cnn, "--images", photos, *arguments,
               "--out", tmp_path / "run").exit_code == 0
    with np.load(tmp_path / "run" / "values.npz") as stored:
        assert sorted(stored.files) == sorted(result.arrays)
        for name in ("saliency/road-morf", "gradcam/faithfulness-correlation"):
            np.testing.assert_allclose(stored[name], result.arrays[name], rtol=1e-6)


def test_evaluate_refuses_maps_of_another_class(cli, tiny_cnn, photos, tmp_path):
    result = cli("attribute", "--model", tiny_cnn, "--images", photos, "--method", "saliency",
                 "--class", 1, "--out", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    result = cli("evaluate", "--model", tiny_cnn, "--maps", tmp_path / "maps", "--method",
                 "saliency", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "explains the class '1', not 'auto': give --class 1" in \
        result.output, result.output
    result = cli("evaluate", "--model", tiny_cnn, "--maps", tmp_path / "maps", "--method",
                 "saliency", "--class", 1, "--metric", "sparseness", "--bootstrap", 100,
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output


def test_evaluate_names_an_image_without_a_mask(cli, tiny_cnn, photos, tmp_path):
    masks = tmp_path / "masks"
    masks.mkdir()
    first = sorted(photos.iterdir())[0]
    (masks / f"{first.stem}.png").write_bytes(first.read_bytes())
    result = cli("evaluate", "--model", tiny_cnn, "--images", photos, "--metric", "pointing-game",
                 "--masks", masks, "--out", tmp_path / "run")
    second = sorted(photos.iterdir())[1].name
    assert result.exit_code == 2 and f"no mask for image {second}" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_report_shows_an_evaluate_run(cli, tiny_cnn, photos, tmp_path):
    assert cli("evaluate", "--model", tiny_cnn, "--images", photos, "--method", "saliency",
               "--metric", "sparseness,complexity", "--bootstrap", 100,
               "--out", tmp_path / "run").exit_code == 0
    result = cli("report", tmp_path / "run", "--out", tmp_path / "report")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## evaluate" in text and "figures/ranking.png" in text and "metrics.csv" in text
