"""Start-up of each command: seconds from process start to its first useful work.

Each command runs as a fresh ``python -m nnvisual`` process on tiny inputs; its first useful work
is its run folder's ``manifest.json`` appearing (inputs resolved, the step about to compute; the
process is then stopped), or the process's end for a command done sooner. Variants, alternated
in the same run: the JAX backend with TensorFlow hidden (``tests/no_tensorflow``), the JAX backend
as installed, and the baseline, the JAX backend with TensorFlow imported first, as every command
paid before those were made lazy. A ratio below 1 is a faster start.

    .venv/bin/python scripts/bench_startup.py [--quick] [--repeats 3]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from nnvisual.testing import bench_harness
from nnvisual.testing.bench_harness import Row

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = "train,deconv,maximize,attribute,sanity,score-bow"
SIZES = {"default": {"repeats": 3, "commands": COMMANDS}, "quick": {"repeats": 1, "commands": "train,deconv"}}
BASELINE = "jax, TensorFlow imported first"
VARIANTS = {  # name: (extra PYTHONPATH, Python code run before nnvisual's command line)
    "jax, TensorFlow hidden": (str(ROOT / "tests" / "no_tensorflow"), ""),
    "jax, TensorFlow installed": ("", ""),
    BASELINE: ("", "import tensorflow; "),
}


def tiny_inputs(folder: Path) -> dict[str, list[str]]:
    """A 3-class image folder (32x32), a saved untrained plotka, and each command's arguments."""
    import keras

    from nnvisual.models.study import build_plotka

    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("test", 2)):
        for name in ("cat", "dog", "frog"):
            (folder / "data" / split / name).mkdir(parents=True)
            for i in range(count):
                cv2.imwrite(str(folder / "data" / split / name / f"{i}.png"),
                            rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    keras.utils.set_random_seed(0)
    model = str(folder / "plotka.keras")
    build_plotka(num_classes=3, mean=[120, 120, 120]).save(model)
    data, images = str(folder / "data"), str(folder / "data" / "test" / "cat")
    return {
        "train": ["train", "--data", data, "--epochs", "1", "--batch-size", "8"],
        "deconv": ["deconv", "--model", model, "--image", f"{images}/0.png", "--layers", "conv1"],
        "maximize": ["maximize", "--model", model, "--class", "1", "-n", "1", "--steps", "2"],
        "attribute": ["attribute", "--model", model, "--images", images, "--method", "saliency"],
        "sanity": ["sanity", "--model", model, "--images", images, "--method", "saliency"],
        "score-bow": ["score-bow", "--reconstructions", images, "--class-images", f"{data}/train/frog",
                      "--size", "32", "--vocab-size", "5"],
    }


def seconds_to_first_work(args: list[str], variant: str, out: Path) -> float:
    """Wall seconds from starting the process to its manifest.json (or to its end)."""
    extra_path, prelude = VARIANTS[variant]
    env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
               NNVISUAL_JAX_CACHE="0",  # every repeat compiles, as a first run does
               PYTHONPATH=os.pathsep.join(p for p in (extra_path, str(ROOT)) if p))
    code = f"{prelude}import sys; from nnvisual.cli import main; sys.exit(main())"
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code, *args, "--out", str(out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while process.poll() is None and not (out / "manifest.json").exists():
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    process.kill()
    process.wait()
    return seconds


def run(repeats: int, commands: str) -> list[Row]:
    """Per command of ``commands`` (comma-separated), each variant's median seconds to first work
    (variants alternated, so a slow spell of a shared machine hits them alike) and its ratio to
    the baseline's."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        arguments = tiny_inputs(Path(scratch))
        for command in commands.split(","):
            args = arguments[command]
            seconds = {variant: [] for variant in VARIANTS}
            for repeat in range(repeats):
                for index, variant in enumerate(VARIANTS):
                    out = Path(scratch) / f"{command}-{repeat}-{index}"
                    seconds[variant].append(seconds_to_first_work(args, variant, out))
            medians = {variant: float(np.median(values)) for variant, values in seconds.items()}
            metric = f"{command}: seconds to first work"
            rows += bench_harness.ratio_rows("startup", metric, medians, BASELINE)
    return rows


if __name__ == "__main__":
    bench_harness.main(__doc__.splitlines()[0], run, SIZES)
