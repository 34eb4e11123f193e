"""``nnvisual sanity`` end to end on a tiny saved model, and its refusals."""

import numpy as np

from nnvisual.testing.run_files import read_csv, read_manifest


def test_sanity_writes_tables_maps_and_figures(cli, tiny_cnn, photos, tmp_path):
    result = cli("sanity", "--model", tiny_cnn, "--images", photos, "--method",
                 "saliency,gradcam", "--max-images", 3, "--curve-steps", 4, "--bootstrap", 100,
                 "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    rows = read_csv(run / "tables" / "randomization.csv")
    stages = 3  # c1, c2, logits have weights
    assert len(rows) == 2 * 2 * stages * 4  # modes x methods x stages x metrics
    first = [r for r in rows if r["randomization"] == "cascading" and r["stage"] == "1"]
    assert {r["layer"] for r in first} == {"logits"}
    assert all(float(r["ci_low"]) <= float(r["mean"]) <= float(r["ci_high"]) for r in rows)
    faith = read_csv(run / "tables" / "faithfulness.csv")
    assert {(r["curve"], r["method"]) for r in faith} == {
        (c, m) for c in ("deletion", "insertion") for m in ("saliency", "gradcam")}
    maps = np.load(run / "maps.npz")
    assert maps["cascading/saliency"].shape == (stages, 3, 32, 32)
    assert maps["deletion/gradcam"].shape == (3, 5)
    assert {p.name for p in (run / "figures").iterdir()} == {
        "cascading.png", "similarity_cascading.png", "similarity_independent.png",
        "faithfulness.png"}
    assert read_manifest(run)["status"] == "complete"


def test_sanity_refuses_a_single_image(cli, tiny_cnn, photos, tmp_path):
    result = cli("sanity", "--model", tiny_cnn, "--images", photos, "--max-images", 1,
                 "--out", tmp_path / "run")
    assert result.exit_code == 2 and "max_images must be at least 2" in result.output
    assert not (tmp_path / "run").exists()
