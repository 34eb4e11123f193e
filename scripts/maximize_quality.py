"""The quality tables of docs/feature-visualization.md: class images of several methods, measured.

For each class, n images are synthesized on ``--model`` by each of ``--methods``:

- pixel: the study's Algorithm 1 (normalized gradient ascent on raw pixels, no priors);
- pixel+priors: the same with L2 decay, total variation, jitter, blur and clipping;
- lucid: a 1/f Fourier spectrum, decorrelated colour, lucid's standard transforms, Adam 0.05
  (Olah et al. 2017),

and each image's target-class probability is measured on the model itself, under 32 random
standard transformations (robustness), and on ``--transfer``, a second network that never saw
the optimization (the images resized to its input): its probability of the class and the share
of images it ranks first. Prints one Markdown row per method and class as it goes (a class's
methods one after the other), then the means; saves each method/class's images as a figure (the
0..255 pixels the model saw, clipped) and as ``.npy`` under ``--figures``. Not run by the tests.

    python scripts/maximize_quality.py --model efficientnet-lite0 --transfer efficientnet-lite2 \\
        --classes 284,1,130,340,950 --n 8 --steps 32 --figures docs/feature-visualization
    python scripts/maximize_quality.py --model results/train-plotka-... --transfer RUN2 \\
        --classes 3,0,1,6,8 --steps 128 --methods pixel,pixel+priors,lucid
"""

import argparse

METHODS = {
    "pixel": {"step_size": 1.0},
    "pixel+priors": {"step_size": 1.0, "l2_decay": 0.01, "jitter": 2, "blur_every": 4,
                     "tv_weight": 0.01, "clip": True},
    "lucid": {"param": "fft", "decorrelate": True, "transforms": "standard"},
}
DESCRIPTIONS = {
    "pixel": "pixel, no priors (Algorithm 1, step 1)",
    "pixel+priors": "pixel + priors (L2 0.01, TV 0.01, jitter 2, blur every 4, clip)",
    "lucid": "fft + decorrelate + standard transforms (Adam 0.05)",
}


def probabilities(loaded, images):
    """Each image's class probabilities (n, classes), resized to ``loaded``'s input."""
    import numpy as np
    from keras import ops

    resized = ops.image.resize(np.float32(images), loaded.image_size, interpolation="bilinear")
    return ops.convert_to_numpy(loaded.model(loaded.preprocess(resized), training=False))


def measure(loaded, transfer, index: int, method: str, n: int, steps: int, seed: int):
    """The images of one method and class, their probability of the class (n,) on the model and
    under transformations, and their class probabilities on the transfer network (n, classes)."""
    from nnvisual.config import MaximizeConfig
    from nnvisual.steps import maximize as step

    config = MaximizeConfig(model=loaded.name, target_class=str(index), n=n, steps=steps,
                            seed=seed, **METHODS[method])
    images = step.reconstruct(step.prepare(loaded, config), config).phases["before"].images
    robust = step.robust_probability(loaded.model, loaded.preprocess, images, index)
    moved = probabilities(transfer, images) if transfer else None
    return images, probabilities(loaded, images)[:, index], robust, moved


def save_figure(folder, method: str, index: int, name: str, images, plain, steps: int) -> None:
    """``<method>-<class>.png`` (the images as the model saw them, 0..255 clipped) and ``.npy``."""
    from pathlib import Path

    import numpy as np

    from nnvisual.plots.maximize import reconstructions_figure

    shown = np.clip(images, 0, 255).astype(np.uint8)
    figure = reconstructions_figure({"before": list(shown)}, {"before": plain},
                                    f"{DESCRIPTIONS[method]}, {steps} steps", f"{index} ({name})")
    slug = f"{method.replace('+', '-')}-{index}"
    figure.savefig(Path(folder) / f"{slug}.png", dpi=72)
    np.save(Path(folder) / f"{slug}.npy", np.float16(images))


def main() -> None:
    import numpy as np

    from nnvisual.api import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--transfer", default=None)
    parser.add_argument("--classes", default="284,1,130,340,950")
    parser.add_argument("--methods", default="pixel,lucid")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--figures", default="quality-figures")
    arguments = parser.parse_args()

    from pathlib import Path

    Path(arguments.figures).mkdir(parents=True, exist_ok=True)
    loaded = load_model(arguments.model, "imagenet")
    transfer = load_model(arguments.transfer, "imagenet") if arguments.transfer else None
    print("| method | class | probability | under 32 standard transforms | transfer probability "
          "| transfer top-1 |")
    print("|---|---|---|---|---|---|")
    means = {}
    for index in map(int, arguments.classes.split(",")):  # a class's methods together
        for method in arguments.methods.split(","):
            images, plain, robust, moved = measure(loaded, transfer, index, method, arguments.n,
                                                   arguments.steps, arguments.seed)
            moved, top1 = ((float(moved[:, index].mean()), float((moved.argmax(1) == index).mean()))
                           if moved is not None else (float("nan"), float("nan")))
            name = loaded.class_names[index]
            means.setdefault(method, []).append((plain.mean(), robust.mean(), moved, top1))
            print(f"| {method} | {index} ({name}) | {plain.mean():.3f} | {robust.mean():.3f} | "
                  f"{moved:.3f} | {top1:.3f} |", flush=True)
            save_figure(arguments.figures, method, index, name, images, plain, arguments.steps)
    for method, values in means.items():
        plain, robust, moved, top1 = np.mean(values, axis=0)
        print(f"| **{method}, mean** | | {plain:.3f} | {robust:.3f} | {moved:.3f} | {top1:.3f} |")


if __name__ == "__main__":
    main()
