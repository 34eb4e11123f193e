"""Every bad input a user can give, through the CLI, as one table (pytest prints one line per case).

A failing case must end with exit status 2, exactly one output line starting with ``Error:`` (no
traceback), and leave the working folder and the inputs exactly as they were (no run folder, no
half-written file). Some inputs look odd but are valid and must work: 16-bit, greyscale and RGBA
images are converted to 8-bit RGB; a 1x1 or a 10000x10000 image is resized to the model's input
size like any other (area averaging when shrinking, cubic when growing). The inputs are built
once per module around a real one-epoch ``train`` run of a 3-class plotka on a tiny image folder.
"""

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from nnvisual.testing.images import write_image_folder
from nnvisual.testing.run_files import read_manifest

D = "deconv --model {model} --layers conv1 --top-k 1"
M = "maximize --model {model} --class 1 -n 1 --steps 1"
S = "score-bow --class-images {data}/train/cat --size 32"
T = "train --epochs 1 --subset 9 --batch-size 4 --data"

# (id, arguments: "{name}" are paths of the module's inputs, expected: "ok" or a part of the error,
#  setup of the working folder or None). "--out run" is added unless the arguments name --out.
CASES = [
    # a path that does not exist
    ("deconv-image-missing", D + " --image {root}/nowhere.png", "image not found", None),
    ("deconv-model-missing", "deconv --model {root}/nowhere.keras", "model not found", None),
    ("maximize-model-missing", "maximize --model {root}/nowhere.keras", "model not found", None),
    ("maximize-retrain-on-missing", M + " --retrain-on {root}/nowhere", "image source not found", None),
    ("train-data-missing", T + " {root}/nowhere", "data folder not found", None),
    ("train-resume-missing", "train --resume {root}/nowhere", "is not a run folder", None),
    ("score-bow-reconstructions-missing", "score-bow --reconstructions {root}/nowhere "
     "--class-images {data}/train/cat", "reconstructions not found", None),
    ("score-bow-class-images-missing", "score-bow --reconstructions {maxrun} "
     "--class-images {root}/nowhere", "image source not found", None),
    ("config-missing", D + " --config {root}/nowhere.yaml", "config file not found", None),
    # a folder where a file is expected, and a file where a folder is
    ("deconv-image-is-a-folder", D + " --image {images}", "expected an image file, got a folder", None),
    ("config-is-a-folder", D + " --config {configs}", "config path is a directory", None),
    ("deconv-model-folder-not-a-run", "deconv --model {empty}", "is not a run folder", None),
    ("train-data-is-a-file", T + " {images}/grey.png", "data must be a folder", None),
    ("score-bow-class-images-is-a-file", "score-bow --reconstructions {maxrun} "
     "--class-images {images}/grey.png", "must be a folder", None),
    # an empty image folder
    ("score-bow-reconstructions-empty", "score-bow --reconstructions {empty} "
     "--class-images {data}/train/cat", "no images", None),
    ("score-bow-class-images-empty", "score-bow --reconstructions {maxrun} --class-images {empty}",
     "no images", None),
    ("maximize-retrain-on-empty", M + " --retrain-on {empty}", "no images", None),
    ("train-data-without-images", T + " {empty_data}", "no images found under", None),
    ("train-data-without-classes", T + " {empty}", "must contain train/<class>/", None),
    ("train-data-without-test-images", T + " {no_test_data}", "no images found under", None),
    # images: broken ones fail, odd but valid ones are converted and work
    ("image-truncated-png", D + " --image {images}/truncated.png", "cannot read", None),
    ("image-truncated-jpg", D + " --image {images}/truncated.jpg", "cannot read", None),
    ("image-not-an-image", D + " --image {images}/text.png", "cannot read", None),
    ("image-zero-bytes", D + " --image {images}/empty.png", "cannot read", None),
    ("image-16-bit", D + " --image {images}/rgb16.png", "ok", None),
    ("image-greyscale", D + " --image {images}/grey.png", "ok", None),
    ("image-rgba", D + " --image {images}/rgba.png", "ok", None),
    ("image-1x1", D + " --image {images}/1x1.png", "ok", None),
    ("image-10000x10000", D + " --image {images}/huge.jpg", "ok", None),
    ("score-bow-folder-with-a-truncated-image", "score-bow --reconstructions {mixed} "
     "--class-images {data}/train/cat", "cannot read", None),
    ("maximize-retrain-on-a-zero-byte-image", M + " --retrain-on {mixed}", "cannot read", None),
    # models and layers
    ("deconv-model-corrupt", "deconv --model {corrupt_model}", "not a valid .keras file", None),
    ("maximize-model-corrupt", "maximize --model {corrupt_model}", "not a valid .keras file", None),
    ("deconv-model-not-keras", "deconv --model {text_model}", "not a valid .keras file", None),
    ("deconv-model-is-an-image", "deconv --model {images}/grey.png", "not a model file", None),
    ("maximize-model-without-image-input", "maximize --model {dense_model}",
     "does not take RGB images", None),
    # a model that takes images of any size: --image-size says which
    ("deconv-model-any-size", "deconv --model {any_size_model} --layers conv1 --image "
     "{images}/grey.png", "give the size to resize them to with --image-size", None),
    ("attribute-model-any-size", "attribute --model {any_size_model} --images {images}/grey.png",
     "give the size to resize them to with --image-size", None),
    ("sanity-model-any-size", "sanity --model {any_size_model} --images {mixed}",
     "give the size to resize them to with --image-size", None),
    ("evaluate-metric-unknown", "evaluate --model {model} --images {mixed} --metric nope",
     "unknown metric 'nope'", None),
    ("evaluate-localisation-without-masks", "evaluate --model {model} --images {mixed} "
     "--metric pointing-game", "pointing-game need masks: give --masks DIR", None),
    ("evaluate-maps-not-a-run", "evaluate --model {model} --maps {images}",
     "is not a run folder", None),
    ("maximize-model-any-size", "maximize --model {any_size_model} --class 1",
     "give the size to resize them to with --image-size", None),
    ("deconv-model-any-size-given", "deconv --model {any_size_model} --layers conv1 --top-k 1 "
     "--image {images}/rgba.png --image-size 32", "ok", None),
    ("attribute-model-any-size-given", "attribute --model {any_size_model} --images "
     "{images}/rgba.png --method saliency,gradcam --image-size 20x28", "ok", None),
    ("maximize-model-any-size-given", "maximize --model {any_size_model} --class 1 -n 1 --steps 1 "
     "--image-size 16x24", "ok", None),
    ("maximize-image-size-of-a-fixed-model", M + " --image-size 64",
     "takes 32x32 images, not the 64x64 of --image-size", None),
    ("maximize-image-size-malformed", M + " --image-size 3x",
     "image_size must be N or HxW in pixels", None),
    ("deconv-layer-missing", "deconv --model {model} --layers nope", "unknown layer 'nope'", None),
    ("deconv-layer-flat", "deconv --model {model} --layers flatten",
     "layer 'flatten' is a Flatten with a 2-D output, not a feature map", None),
    ("deconv-layer-dense", "deconv --model {model} --layers conv1,dense2",
     "layer 'dense2' is a Dense with a 2-D output, not a feature map", None),
    # classes
    ("maximize-class-negative", "maximize --model {model} --class -1", "class -1 is out of range", None),
    ("maximize-class-too-large", "maximize --model {model} --class 3", "class 3 is out of range", None),
    ("maximize-class-unknown-name", "maximize --model {run} --class dragon",
     "unknown class name 'dragon'", None),
    ("score-bow-unknown-class", "score-bow --reconstructions {maxrun} --class-images cifar10:dragon "
     "--data {data}", "unknown class 'dragon'", None),
    # flags Click itself rejects: one line too, naming the command's --help
    ("flag-not-a-number", T + " {data} --epochs ten", "'ten' is not a valid integer", None),
    ("flag-unknown", M + " --bogus", "No such option '--bogus'", None),
    ("command-unknown", "trainx", "No such command 'trainx'", None),
    # configs and numbers
    ("config-unknown-key", T + " {data} --config {configs}/unknown-key.yaml",
     "unknown config key 'epoch'", None),
    ("config-unknown-section", D + " --config {configs}/unknown-section.yaml",
     "unknown section 'deconvolution'", None),
    ("config-wrong-type", T + " {data} --config {configs}/wrong-type.yaml",
     "config key 'lr' must be a number", None),
    ("config-not-yaml", D + " --config {configs}/not-yaml.yaml", "is not valid YAML", None),
    ("config-negative-epochs", "train --data {data} --config {configs}/negative-epochs.yaml",
     "epochs must be at least 1, got -2", None),
    ("train-negative-epochs-flag", "train --data {data} --epochs -1", "epochs must be at least 1", None),
    ("train-config-unknown-precision", T + " {data} --config {configs}/half-precision.yaml",
     "unknown precision 'float16': choose auto, float32 or mixed_bfloat16", None),
    ("train-flag-unknown-precision", T + " {data} --precision float16", "'float16' is not one of", None),
    ("maximize-negative-steps", M + " --steps -5", "steps must be at least 1, got -5", None),
    ("maximize-config-n-0", "maximize --model {model} --config {configs}/n-0.yaml",
     "n must be at least 1, got 0", None),
    ("maximize-flag-n-0", "maximize --model {model} -n 0", "n must be at least 1, got 0", None),
    ("deconv-top-k-0", "deconv --model {model} --top-k 0", "top_k must be at least 1", None),
    ("atlas-layer-missing", "atlas --model {model} --data {data} --layers nope", "unknown layer 'nope'",
     None),
    ("atlas-data-without-images", "atlas --model {model} --data {empty_data}", "no images found under",
     None),
    ("atlas-channels-0", "atlas --model {model} --channels 0", "channels must be at least 1", None),
    ("atlas-more-shards-than-blocks", "atlas --model {model} --data {data} --layers conv1 --shard 2/4",
     "32 channels of 'conv1' make 1 blocks of 64, too few for 4 shards", None),
    ("score-bow-vocab-size-1", "score-bow --reconstructions {maxrun} --class-images {data}/train/cat "
     "--vocab-size 1", "vocab_size must be at least 2", None),
    # the output folder
    ("out-exists-not-a-run", D + " --out taken", "--force", "taken-folder"),
    ("out-exists-not-a-run-force", D + " --out taken --force", "not a 'deconv' run folder", "taken-folder"),
    ("out-other-command-force", D + " --out taken --force", "not a 'deconv' run folder", "taken-maximize"),
    ("out-is-a-file", D + " --out taken", "exists and is not a folder", "taken-file"),
    ("out-under-a-file", D + " --out taken/run", "cannot create output folder", "taken-file"),
    ("out-read-only", D + " --out read-only/run", "cannot create output folder", "read-only"),
    ("out-in-sysfs", D + " --out /sys/nnvisual-run", "cannot create output folder", None),  # even root
    ("train-out-exists-not-a-run", T + " {data} --out taken", "--force", "taken-folder"),
    ("maximize-out-other-command-force", M + " --out taken --force", "not a 'maximize' run folder",
     "taken-deconv"),
    ("out-same-command-force", D + " --out taken --force", "ok", "taken-deconv"),
    # run folders given as input
    ("deconv-model-interrupted-train-run", "deconv --model {interrupted_run}", "incomplete 'train' run",
     None),
    ("maximize-model-interrupted-train-run", "maximize --model {interrupted_run}",
     "incomplete 'train' run", None),
    ("deconv-model-maximize-run", "deconv --model {maxrun}", "is a 'maximize' run, not a 'train' run",
     None),
    ("score-bow-interrupted-maximize-run", S + " --reconstructions {interrupted_maxrun}",
     "incomplete 'maximize' run", None),
    ("score-bow-train-run", S + " --reconstructions {run}", "is a 'train' run, not a 'maximize' run",
     None),
    ("train-resume-deconv-run", "train --resume {deconvrun}", "is a 'deconv' run, not a 'train' run",
     None),
    ("train-resume-complete-run", "train --resume {run}", "is already complete", None),
    ("attribute-resume-missing", "attribute --resume {root}/nowhere", "is not a run folder", None),
    ("attribute-resume-deconv-run", "attribute --resume {deconvrun}",
     "is a 'deconv' run, not a 'attribute' run", None),
    ("deconv-resume-train-run", "deconv --resume {run}", "is a 'train' run, not a 'deconv' run", None),
    ("deconv-resume-complete-run", "deconv --resume {deconvrun}", "is already complete", None),
    ("deconv-resume-with-an-option", "deconv --resume {deconvrun} --top-k 2", "give no other option",
     None),
    # valid inputs beside the bad ones: the same commands work
    ("deconv-train-run", "deconv --model {run} --layers conv6 --top-k 2", "ok", None),
    ("maximize-keras-file", M, "ok", None),
    ("maximize-train-run-class-name", "maximize --model {run} --class frog -n 1 --steps 1", "ok", None),
]


def invoke(*args):
    """The ``cli`` fixture's call, for the module-scoped inputs."""
    from nnvisual.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_image(path, image):
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Paths of every input the cases name, and each valid image as the RGB it must become."""
    root = tmp_path_factory.mktemp("bad-inputs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NNVISUAL_CACHE", str(root / "cache"))
        patch.chdir(root)
        paths = _build_inputs(root)
        yield paths


def _build_inputs(root):
    paths = {"root": root, "data": write_image_folder(root / "data")}
    result = invoke("train", "--data", paths["data"], "--epochs", 1, "--batch-size", 4,
                    "--num-classes", 3, "--no-augment", "--out", root / "train-run")
    assert result.exit_code == 0, result.output
    paths["run"] = root / "train-run"
    paths["model"] = shutil.copy(root / "train-run" / "model.keras", root / "tiny.keras")
    result = invoke("maximize", "--model", paths["model"], "--class", 1, "-n", 2, "--steps", 1,
                    "--out", root / "maximize-run")
    assert result.exit_code == 0, result.output
    paths["maxrun"] = root / "maximize-run"
    result = invoke(*D.format(**paths).split(), "--out", root / "deconv-run")
    assert result.exit_code == 0, result.output
    paths["deconvrun"] = root / "deconv-run"
    for name in ("run", "maxrun"):  # the same runs, stopped by Ctrl-C
        copy = Path(shutil.copytree(paths[name], root / f"interrupted-{paths[name].name}"))
        manifest = read_manifest(copy)
        (copy / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
        paths[f"interrupted_{name}"] = copy

    import keras

    keras_bytes = (root / "tiny.keras").read_bytes()
    paths["corrupt_model"] = root / "corrupt.keras"
    paths["corrupt_model"].write_bytes(keras_bytes[: len(keras_bytes) // 2])
    paths["text_model"] = root / "text.keras"
    paths["text_model"].write_text("not a model\n")
    dense = keras.Sequential([keras.Input((10,)), keras.layers.Dense(3)])
    paths["dense_model"] = root / "dense.keras"
    dense.save(paths["dense_model"])
    any_size = keras.Sequential([keras.Input((None, None, 3)),
                                 keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(3, activation="softmax")])
    paths["any_size_model"] = root / "any-size.keras"
    any_size.save(paths["any_size_model"])

    rng = np.random.default_rng(0)
    images = paths["images"] = root / "images"
    images.mkdir()
    bgr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    for name in ("truncated.png", "truncated.jpg"):
        encoded = write_image(images / name, bgr).read_bytes()
        (images / name).write_bytes(encoded[: len(encoded) // 2])
    (images / "text.png").write_text("this is not an image\n")
    (images / "empty.png").write_bytes(b"")
    rgb16 = rng.integers(0, 65536, (40, 48, 3), dtype=np.uint16)
    grey = rng.integers(0, 256, (40, 48), dtype=np.uint8)
    rgba = rng.integers(0, 256, (40, 48, 4), dtype=np.uint8)
    huge = np.full((10000, 10000, 3), 200, np.uint8)
    huge[:, 5000:] = 40
    write_image(images / "rgb16.png", rgb16[..., ::-1])
    write_image(images / "grey.png", grey)
    write_image(images / "rgba.png", rgba[..., [2, 1, 0, 3]])
    write_image(images / "1x1.png", np.array([[[30, 60, 90]]], np.uint8))
    write_image(images / "huge.jpg", huge)
    halves = np.zeros((32, 32, 3), np.uint8)
    halves[:, :16], halves[:, 16:] = 200, 40  # 10000 / 32 = 312.5 columns each: 5000 = 16 * 312.5
    paths["expected_rgb"] = {  # what each valid image must become at 32x32, computed here independently
        "rgb16.png": area_resize(np.floor(rgb16 / 257 + 0.5), (32, 32)),
        "grey.png": area_resize(np.repeat(grey[..., None], 3, axis=2), (32, 32)),
        "rgba.png": area_resize(rgba[..., :3], (32, 32)),
        "1x1.png": np.full((32, 32, 3), [90, 60, 30], np.uint8),  # one pixel, grown: all of it
        "huge.jpg": halves,
    }

    mixed = paths["mixed"] = root / "mixed"
    mixed.mkdir()
    write_image(mixed / "good.png", bgr)
    shutil.copy(images / "truncated.png", mixed / "truncated.png")
    shutil.copy(images / "empty.png", mixed / "zero.png")

    paths["empty"] = root / "empty"
    paths["empty"].mkdir()
    for split in ("train", "test"):
        (root / "empty-data" / split / "cat").mkdir(parents=True)
    paths["empty_data"] = root / "empty-data"
    paths["no_test_data"] = root / "no-test-data"
    shutil.copytree(paths["data"] / "train", paths["no_test_data"] / "train")
    for name in ("cat", "dog", "frog"):
        (paths["no_test_data"] / "test" / name).mkdir(parents=True)

    configs = paths["configs"] = root / "configs"
    configs.mkdir()
    for name, text in {"unknown-key": "train:\n  epoch: 1\n",
                       "unknown-section": "deconvolution:\n  top_k: 1\n",
                       "wrong-type": "train:\n  lr: fast\n",
                       "not-yaml": "deconv: [top_k: 1\n",
                       "negative-epochs": "train:\n  epochs: -2\n",
                       "n-0": "maximize:\n  n: 0\n",
                       "half-precision": "train:\n  precision: float16\n"}.items():
        (configs / f"{name}.yaml").write_text(text)
    return paths


def _set_up(setup, cwd, paths):
    taken = cwd / "taken"
    if setup == "taken-folder":
        taken.mkdir()
        (taken / "notes.txt").write_text("mine")
    elif setup == "taken-file":
        taken.write_text("mine")
    elif setup == "taken-maximize":
        shutil.copytree(paths["maxrun"], taken)
    elif setup == "taken-deconv":
        shutil.copytree(paths["deconvrun"], taken)
    elif setup == "read-only":
        if os.geteuid() == 0:
            pytest.skip("running as root: a read-only folder is still writable")
        (cwd / "read-only").mkdir()
        (cwd / "read-only").chmod(0o555)


def _area_weights(n_in, n_out):
    """(n_out, n_in): the share of each input pixel in each output pixel when ``n_in`` pixels
    are averaged down to ``n_out`` (each output pixel covers n_in / n_out input pixels)."""
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        low, high = i * scale, (i + 1) * scale
        for k in range(int(np.floor(low)), int(np.ceil(high))):
            weights[i, k] = (min(high, k + 1) - max(low, k)) / scale
    return weights


def area_resize(image, size):
    """Shrink ``image`` (H, W, C) to ``size`` by exact area averaging, rounded to uint8."""
    rows, cols = _area_weights(image.shape[0], size[0]), _area_weights(image.shape[1], size[1])
    averaged = np.einsum("ik,klc,jl->ijc", rows, np.asarray(image, np.float64), cols)
    return np.floor(averaged + 0.5).astype(np.uint8)


def snapshot(*folders):
    """Every file and folder under ``folders`` (the data cache aside) with its size and time."""
    found = {}
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if "cache" not in path.relative_to(folder).parts:
                stat = path.stat()
                found[path] = (stat.st_size, stat.st_mtime_ns, path.is_dir())
    return found


@pytest.mark.parametrize("args, expected, setup", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input(cli, inputs, isolated, args, expected, setup):
    _set_up(setup, isolated, inputs)
    argv = args.format(**inputs).split()
    if "--out" not in argv and "--resume" not in argv:
        argv += ["--out", "run"]
    before = snapshot(isolated, inputs["root"])
    result = cli(*argv)
    if expected != "ok":
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        (line,) = result.output.splitlines()
        assert line.startswith("Error: ") and expected in line, line
        assert snapshot(isolated, inputs["root"]) == before  # nothing written, nothing half-written
        return
    assert result.exit_code == 0, result.output
    out = isolated / argv[argv.index("--out") + 1]
    manifest = read_manifest(out)
    assert manifest["status"] == "complete" and not list(out.rglob("*.tmp*"))
    if "--image-size" in argv and argv[0] != "deconv":  # the size given, not the model's
        height, width = map(int, argv[argv.index("--image-size") + 1].split("x"))
        stored, key = {"attribute": ("attributions.npz", "saliency"),
                       "maximize": ("reconstructions.npz", "before")}[argv[0]]
        with np.load(out / stored) as arrays:
            assert arrays[key].shape[1:3] == (height, width)
    if "--image" in argv:  # the image the model saw: converted to RGB uint8, resized to 32x32
        expected_rgb = inputs["expected_rgb"][Path(argv[argv.index("--image") + 1]).name]
        with np.load(out / "projections.npz") as stored:
            seen = stored["image"]
        assert seen.shape == (32, 32, 3) and seen.dtype == np.uint8
        np.testing.assert_allclose(seen, expected_rgb, atol=2)
