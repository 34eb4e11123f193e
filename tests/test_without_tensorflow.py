"""Every command on the JAX and PyTorch backends in a process where TensorFlow cannot be imported
(a GPU machine with JAX or PyTorch and no TensorFlow trains and visualizes).

``tests/no_tensorflow`` first on ``PYTHONPATH`` makes ``import tensorflow`` fail. What needs
TensorFlow there is only what the TensorFlow backend itself does (docs/architecture.md).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnvisual.testing.run_files import read_manifest

ROOT = Path(__file__).resolve().parents[1]


def run_without_tensorflow(code: str, cwd: Path, backend: str = "jax", timeout: float = 1200) -> dict:
    """Run ``code`` in a fresh Python with TensorFlow hidden; it prints one JSON line last."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'tests' / 'no_tensorflow'}{os.pathsep}{ROOT}",
               KERAS_BACKEND=backend, CUDA_VISIBLE_DEVICES="", NNVISUAL_CACHE=str(cwd / "cache"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_stand_in_hides_tensorflow(tmp_path):
    found = run_without_tensorflow("""
        import json
        try:
            import tensorflow
            message = None
        except ImportError as exc:
            message = str(exc)
        print(json.dumps({"message": message}))
    """, tmp_path)
    assert found["message"] == "TensorFlow is hidden for this test"


def test_every_command_and_api_function_imports_and_batches_without_tensorflow(tmp_path):
    found = run_without_tensorflow("""
        import importlib, json, sys
        import numpy as np
        import nnvisual.api
        from nnvisual import cli, training
        from nnvisual.training import numpy_pipeline
        from nnvisual.runtime import seeding
        from nnvisual.config import TrainConfig

        for module in cli.COMMANDS.values():
            importlib.import_module(module)
        names = [getattr(nnvisual.api, name).__name__ for name in nnvisual.api.__all__]
        seeding.set_random_seed(0)
        images = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
        pipeline = training.input_pipeline(images, np.arange(10), 4, shuffle_seed=0,
                                           augment=training.augmenter(TrainConfig(), seed=0))
        shapes = [list(x.shape) for x, _ in pipeline.as_numpy_iterator()]
        print(json.dumps({"names": names, "shapes": shapes, "pipeline": type(pipeline).__name__,
                          "tensorflow": sorted(m for m in sys.modules if m.startswith("tensorflow"))}))
    """, tmp_path)
    assert found["tensorflow"] == []
    assert {"train", "project", "maximize", "attribute", "sanity_check", "evaluate",
            "score_bow", "atlas"} <= set(found["names"])
    assert found["pipeline"] == "Batches" and found["shapes"] == [[4, 8, 8, 3], [4, 8, 8, 3], [2, 8, 8, 3]]


END_TO_END = """
    import json, sys
    from pathlib import Path
    import cv2
    import numpy as np
    from click.testing import CliRunner
    from nnvisual.cli import main
    from nnvisual.testing.images import write_image_folder

    data = write_image_folder(Path("data"))
    cv2.imwrite("probe.png", np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8))
    Path("retrain.yaml").write_text("maximize:\\n  retrain_epochs: 1\\n  retrain_batch_size: 12\\n")
    train = ["--epochs", "1", "--batch-size", "12", "--val-split", "0.3333"]
    commands = {
        "train": ["train", "--data", data, *train],
        "train-streamed": ["train", "--data", data, "--cache", "none", *train],
        "deconv": ["deconv", "--model", "train", "--image", "probe.png", "--layers", "conv1", "--top-k", "2"],
        "maximize": ["maximize", "--model", "train", "--class", "2", "-n", "2", "--steps", "2",
                     "--retrain-on", data / "train" / "frog", "--config", "retrain.yaml"],
        "attribute": ["attribute", "--model", "train", "--images", data / "test" / "cat",
                      "--method", "saliency,gradcam"],
        "sanity": ["sanity", "--model", "train", "--images", data / "test" / "cat", "--method", "saliency",
                   "--max-images", "2", "--curve-steps", "2", "--bootstrap", "100"],
        "evaluate": ["evaluate", "--model", "train", "--maps", "attribute", "--method", "gradcam",
                     "--metric", "road-morf,input-invariance,model-randomisation", "--eval-steps",
                     "2", "--bootstrap", "100"],
        "score-bow": ["score-bow", "--reconstructions", "maximize", "--class-images", data / "train" / "frog",
                      "--size", "32", "--vocab-size", "5"],
        "atlas": ["atlas", "--model", "train", "--data", data, "--layers", "conv1", "--channels", "2",
                  "--steps", "2", "--scan-images", "12", "--examples", "2"],
        "report": ["report", "train", "deconv", "maximize", "attribute", "sanity", "evaluate",
                   "score-bow"],
    }
    exits = {}
    for name, args in commands.items():
        result = CliRunner().invoke(main, [*map(str, args), "--out", name], catch_exceptions=False)
        exits[name] = result.exit_code
        if result.exit_code:
            print(result.output, file=sys.stderr)
    print(json.dumps({"exits": exits,
                      "tensorflow": sorted(m for m in sys.modules if m.startswith("tensorflow"))}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_command_runs_end_to_end_without_tensorflow(tmp_path, backend):
    pytest.importorskip(backend)
    found = run_without_tensorflow(END_TO_END, tmp_path, backend)
    assert found["tensorflow"] == []
    assert set(found["exits"].values()) == {0}, found["exits"]
    for name in ("train", "train-streamed", "deconv", "maximize", "attribute", "sanity", "evaluate",
                 "score-bow", "atlas"):
        manifest = read_manifest(tmp_path / name)
        assert manifest["status"] == "complete", name
    train = read_manifest(tmp_path / "train")
    assert train["backend"] == backend
    assert train["images"] == {"fit": 24, "validation": 12, "test": 12}
    # one epoch of two batches from random weights: a finite loss, not a small one (plotka's
    # first-epoch loss on these images is about 12 on TensorFlow and PyTorch, 9 on JAX)
    assert len(train["history"]["loss"]) == 1 and 0 < train["history"]["loss"][0] < 100
    assert (tmp_path / "train" / "model.keras").stat().st_size > 0
    assert read_manifest(tmp_path / "train-streamed")["data_streamed"]
    for figure in ("deconv/figures/conv1.png", "maximize/figures/reconstructions.png",
                   "attribute/figures/grid.png", "score-bow/figures/closest.png"):
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG", figure
    assert any((tmp_path / "report").glob("*.html"))
