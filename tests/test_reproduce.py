"""`scripts/reproduce.sh` end to end on a tiny image folder: every step, reuse, and the report."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnvisual.testing.run_files import read_manifest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "reproduce.sh"
TINY = """\
train: {epochs: 1, batch_size: 8, seed: 0}
deconv: {top_k: 2, seed: 0}
maximize: {steps: 3, retrain_epochs: 1, seed: 0}
score_bow: {size: 64, vocab_size: 4, bootstrap: 200, seed: 0}
"""
STEPS = ("train-plotka", "train-plotka-1000", "deconv-plotka", "maximize-284", "score-bow-284",
         "score-bow-284-study2019-before", "score-bow-284-study2019-after")


def run_chain(isolated, data):
    # VGG16's ImageNet weights cannot be had: an empty Keras home and every download sent to a
    # closed local port, so the deconv-vgg16 step always takes its "skipped" branch
    env = dict(os.environ, NNVISUAL_DATA=str(data), NNVISUAL_CACHE=str(isolated / "cache"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               KERAS_HOME=str(isolated / "keras-home"), https_proxy="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", no_proxy="", NO_PROXY="")
    return subprocess.run(["bash", str(SCRIPT), "tiny.yaml", "out"], cwd=isolated, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_reproduce_chain_writes_every_step_and_the_report(isolated, image_folder):
    (isolated / "tiny.yaml").write_text(TINY)
    result = run_chain(isolated, image_folder)
    assert result.returncode == 0, result.stdout + result.stderr
    out = isolated / "out"
    assert "== deconv-vgg16: skipped: VGG16 ImageNet weights could not be downloaded" in result.stdout
    assert not (out / "deconv-vgg16").exists()
    assert not list(out.glob("deconv-vgg16.*"))  # no .err, .key or .key.partial left behind
    for step in STEPS:
        manifest = read_manifest(out / step)
        assert manifest["status"] == "complete", step
        for relative in manifest["outputs"]:
            assert (out / step / relative).exists(), (step, relative)
    assert (out / "maximize-284" / "after" / "09.png").exists()  # n = 10 tries, both phases
    report = (out / "report" / "report.md").read_text()
    for step in STEPS:
        assert f"{step}/manifest.json" in report, step
        for figure in (out / step / "figures").glob("*.png"):
            assert f"{step}/figures/{figure.name}" in report, (step, figure.name)
    # Table 3 three ways, in the report and printed at the end: published, study's, consistent
    assert "| Published (Réda & Xu 2019) |  | 11 photos | 10 | 0.050 | 0.050 | 0.095 | 0.090 |" \
        in report
    # the tiny data set has 4 test cats: the study's 11 are cut to 4
    assert "| The study's, query idf log(N/df) | score-bow-284-study2019-before | 4 |" in report
    assert "| The study's, query idf log(N/(df+1)) | score-bow-284-study2019-after | 4 |" in report
    assert "| Consistent tf-idf (idf smooth) | score-bow-284 | 4 |" in report  # tiny.yaml's idf
    assert "**Table 3 three ways" in result.stdout and "The published 0.050" in result.stdout
    html = (out / "report" / "index.html").read_text()
    figures = sum(len(list((out / step / "figures").glob("*.png"))) for step in STEPS)
    assert html.count("data:image/png;base64,") == figures

    again = run_chain(isolated, image_folder)  # every step reused, nothing recomputed
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(f"== {step}: reused" in again.stdout for step in STEPS), again.stdout
