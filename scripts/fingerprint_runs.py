"""Run every command small, with fixed seeds, and print the sha256 of each file it wrote.

A refactoring that changes no behaviour leaves every fingerprint as it was: run this before and
after, on each backend, and compare the two JSON files (``--compare``). Files whose bytes hold a
time or a memory address are fingerprinted without it: ``model.keras`` (Keras writes its save
date; its config, shared object ids numbered, and weights are compared instead),
``tables/history.csv`` (its ``seconds`` column) and the report's ``runs.csv`` (wall times).

    python scripts/fingerprint_runs.py --out /tmp/before       # writes /tmp/before/fingerprints.json
    python scripts/fingerprint_runs.py --out /tmp/after --compare /tmp/before/fingerprints.json

Every run uses a generated image folder (3 classes, 32x32) and a saved, untrained plotka, so it
works offline in a few minutes on 2 cores; KERAS_BACKEND picks the backend.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

VOLATILE_COLUMNS = {"tables/history.csv": ("seconds",),
                    "tables/runs.csv": ("started", "wall_seconds", "wall_time")}


def image_folder(root: Path, classes=("cat", "dog", "frog"), per_class=(12, 4), size=32, seed=0):
    """A tiny dataset: class k has a bright square in corner k, plus noise (as
    nnvisual.testing.images.write_image_folder; written out here so that the generated data stays
    the same whatever the test helpers become)."""
    rng = np.random.default_rng(seed)
    for split, count in zip(("train", "test"), per_class, strict=True):
        for k, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = rng.integers(0, 80, (size, size, 3), dtype=np.uint8)
                y, x = divmod(k % 4, 2)
                image[y * size // 2:(y + 1) * size // 2, x * size // 2:(x + 1) * size // 2, k % 3] = 230
                cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return root


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_fingerprint(run: Path, relative: str) -> str:
    path = run / relative
    if path.suffix == ".keras":  # the config and weights, not the archive (it holds the save date)
        import h5py

        with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as h5:
            arrays = []
            h5.visititems(lambda name, item: arrays.append(name.encode() + np.asarray(item).tobytes())
                          if isinstance(item, h5py.Dataset) else None)
            config = archive.read("config.json").decode()
            ids = {}  # shared_object_id holds a memory address: numbered in order of appearance
            config = re.sub(r'"shared_object_id": (\d+)',
                            lambda m: f'"shared_object_id": {ids.setdefault(m.group(1), len(ids))}', config)
            return digest(config.encode() + b"".join(arrays))
    if relative in VOLATILE_COLUMNS:
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        kept = [{k: v for k, v in row.items() if k not in VOLATILE_COLUMNS[relative]} for row in rows]
        return digest(json.dumps(kept).encode())
    return digest(path.read_bytes())


def run_fingerprints(run: Path) -> dict:
    """sha256 of every output the manifest lists (checked against the manifest's own digest)."""
    manifest = json.loads((run / "manifest.json").read_text())
    outputs = manifest.get("outputs", {})
    names = outputs if isinstance(outputs, dict) else {o["path"]: o for o in outputs}
    return {name: file_fingerprint(run, name) for name in sorted(names)
            if not name.endswith((".html", ".md"))}


def run_command(*args, cwd: Path):
    command = [sys.executable, "-m", "nnvisual", *map(str, args)]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["NNVISUAL_CACHE"] = str(out / "cache")
    image_folder(out / "data")
    data, images = Path("data"), Path("data/test/cat")  # relative: config.yaml holds no absolute path

    import keras  # noqa: F401 -- after nnvisual's oneDNN setting, as a user's process

    import nnvisual  # noqa: F401
    from nnvisual.models.study import build_plotka

    keras.utils.set_random_seed(0)
    model = Path("tiny.keras")
    build_plotka(num_classes=3, mean=[120, 120, 120]).save(out / model)

    runs = {
        "train": ["train", "--epochs", "1", "--data", data, "--batch-size", "8", "--deterministic"],
        "deconv": ["deconv", "--model", model, "--image", images / "0000.png", "--top-k", "2",
                   "--top9", "--top9-images", "9", "--data", data],
        "deconv-guided": ["deconv", "--model", model, "--image", images / "0001.png", "--top-k", "2",
                          "--method", "guided", "--mode", "map", "--layers", "conv2,conv5"],
        "maximize": ["maximize", "--model", model, "--class", "1", "-n", "2", "--steps", "3",
                     "--retrain-on", data / "train" / "dog", "--retrain-epochs", "1"],
        "maximize-lucid": ["maximize", "--model", model, "--objective", "class:2 - 0.5*channel:conv3:2",
                           "-n", "2", "--steps", "3", "--param", "fft", "--decorrelate",
                           "--transforms", "standard", "--diversity", "1", "--diversity-layer", "conv2"],
        "maximize-grid": ["maximize", "--model", model, "--channel-grid", "conv4:0,3,5", "--steps", "3",
                          "--param", "fft"],
        "attribute": ["attribute", "--model", model, "--images", images, "--method",
                      "saliency,gradient-x-input,guided,deconvnet,integrated-gradients,smoothgrad,"
                      "gradcam,gradcam++,scorecam,guided-gradcam,occlusion", "--steps", "4",
                      "--samples", "3", "--batch-size", "3"],
        "attribute-shard0": ["attribute", "--model", model, "--images", images, "--method",
                             "saliency,gradcam", "--batch-size", "2", "--shard", "0/2"],
        "attribute-shard1": ["attribute", "--model", model, "--images", images, "--method",
                             "saliency,gradcam", "--batch-size", "2", "--shard", "1/2"],
        "sanity": ["sanity", "--model", model, "--images", images, "--method",
                   "saliency,gradcam,guided", "--max-images", "3", "--bootstrap", "100",
                   "--curve-steps", "4"],
    }
    for name, command in runs.items():
        run_command(*command, "--seed", "0", "--out", name, cwd=out)
    run_command("score-bow", "--reconstructions", "maximize", "--class-images", data / "train" / "cat",
                "--size", "64", "--vocab-size", "4", "--out", "score-bow", cwd=out)
    run_command("merge", "attribute-shard0", "attribute-shard1", "--out", "merge", cwd=out)
    run_command("report", *runs, "score-bow", "--out", "report", cwd=out)

    fingerprints = {name: run_fingerprints(out / name) for name in [*runs, "score-bow", "merge", "report"]}
    (out / "fingerprints.json").write_text(json.dumps(fingerprints, indent=1, sort_keys=True))
    print(f"wrote {out / 'fingerprints.json'}")
    if args.compare:
        before = json.loads(args.compare.read_text())
        differ = [f"{run}/{name}" for run in sorted(set(before) | set(fingerprints))
                  for name in sorted(set(before.get(run, {})) | set(fingerprints.get(run, {})))
                  if before.get(run, {}).get(name) != fingerprints.get(run, {}).get(name)]
        count = sum(len(files) for files in fingerprints.values())
        print(f"{count} files; {len(differ)} differ" + "".join(f"\n  {d}" for d in differ))
        raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
