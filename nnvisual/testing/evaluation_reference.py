"""Quantus 0.6 on the same arrays and weights as nnvisual's evaluation metrics
(tests/test_evaluate_reference.py, docs/evaluation.md "Agreement with Quantus").

The model is the ``vgg`` twin (:mod:`nnvisual.testing.twin_networks`: the same weights in Keras and
PyTorch, 16 x 16 x 3 inputs in [-1, 1]); the maps are seeded arrays, or gradient times input of
the class logit, which both sides compute on their own twin. :func:`make_fixture` runs Quantus
(the ``reference`` extra) and stores its numbers in :data:`FIXTURE`, so the default suite
compares without Quantus; the test reruns it live where Quantus imports."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnvisual.testing import twin_networks

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "evaluation_quantus.npz"
IMAGES = 12
STEPS = 8  # pixel flipping: 256 pixels in 8 steps of 32; Quantus flips 32 channel values a step,
# so its every third point (96 values: 32 whole pixels) is one of ours
RUNS = 20  # faithfulness correlation
SUBSET = 0.1  # of the pixels
PATCH, REGIONS = 4, 6  # region perturbation: 6 of the 16 regions of 4 x 4 pixels
SAMPLES = 8  # sensitivity
RADIUS = 0.02  # of the input's range (2)
SEED = 0


def arrays() -> dict[str, np.ndarray]:
    """The shared inputs: images (N, H, W, C), signed and non-negative maps (N, H, W), masks."""
    rng = np.random.default_rng(SEED)
    x = twin_networks.inputs(IMAGES)
    signed = rng.normal(size=(IMAGES, twin_networks.SIZE, twin_networks.SIZE))
    positive = np.abs(rng.normal(size=signed.shape)) * (rng.uniform(size=signed.shape) > 0.3)
    masks = np.zeros(signed.shape, bool)
    for i in range(IMAGES):
        top, left = rng.integers(0, 10, 2)
        masks[i, top:top + 6, left:left + 6] = True
        if i % 2 == 0:  # every other map's maximum inside its mask: the pointing game hits
            positive[i, top + 2, left + 3] = positive[i].max() + 1
    keep = rng.uniform(size=signed.shape[1:]) > 0.5
    return {"x": x, "signed": signed, "positive": positive, "masks": masks, "keep": keep}


def task(network, data: dict, classes, maps, **fields):
    """nnvisual's task on the twin, with Quantus' "black": each image's own minimum value."""
    from nnvisual.evaluation.task import Settings, Task

    x = data["x"]
    baselines = np.broadcast_to(x.min(axis=(1, 2, 3), keepdims=True), x.shape).copy()
    settings = Settings(steps=STEPS, runs=RUNS, subset=SUBSET, samples=SAMPLES, radius=RADIUS,
                        patch=PATCH, regions=REGIONS, seed=SEED)
    return Task(network, x, maps, np.asarray(classes), baselines, settings,
                twin_networks.BOUNDS, **fields)


def keras_explain(network):
    """Gradient times input of the class logit, summed over channels, from nnvisual's network."""
    def explain(scorer, x, classes):
        return (network.gradient(np.asarray(x, np.float32), np.asarray(classes)) * x).sum(axis=-1)

    return explain


def make_fixture(path: Path | None = FIXTURE) -> dict[str, np.ndarray]:
    """Quantus' numbers on :func:`arrays` (and the twin's weights), written to ``path`` (None:
    not written)."""
    import torch

    from nnvisual.testing.torch_reference import declare_torchvision_ops

    declare_torchvision_ops(torch)
    import quantus

    data = arrays()
    net = twin_networks.torch_network("vgg", twin_networks.weights("vgg"))
    x = data["x"].transpose(0, 3, 1, 2).copy()
    with torch.no_grad():
        classes = net(torch.from_numpy(x)).argmax(dim=1).numpy()

    def explain(model, inputs, targets, **_):
        inputs = torch.as_tensor(np.asarray(inputs), dtype=torch.float32).requires_grad_(True)
        logits = model(inputs)
        chosen = logits[torch.arange(len(inputs)), torch.as_tensor(np.asarray(targets))]
        (gradient,) = torch.autograd.grad(chosen.sum(), inputs)
        return (gradient * inputs).sum(dim=1, keepdim=True).detach().numpy()

    signed, positive = data["signed"][:, None], data["positive"][:, None]
    masks = data["masks"][:, None]
    common = {"disable_warnings": True, "display_progressbar": False}
    out = {"classes": classes}
    out["sparseness"] = np.array(quantus.Sparseness(**common)(
        model=None, x_batch=x, y_batch=classes, a_batch=signed.copy(), channel_first=True))
    out["complexity"] = np.array(quantus.Complexity(**common)(
        model=None, x_batch=x, y_batch=classes, a_batch=signed.copy(), channel_first=True))
    for name, metric in (("pointing_game", quantus.PointingGame),
                         ("relevance_mass_accuracy", quantus.RelevanceMassAccuracy),
                         ("relevance_rank_accuracy", quantus.RelevanceRankAccuracy)):
        out[name] = np.array(metric(**common)(model=None, x_batch=x, y_batch=classes,
                                              a_batch=positive.copy(), s_batch=masks.copy(),
                                              channel_first=True), np.float64)
    pixels = twin_networks.SIZE ** 2
    out["pixel_flipping"] = np.array(quantus.PixelFlipping(
        features_in_step=pixels // STEPS, normalise=False,
        perturb_baseline="black", **common)(
        model=net, x_batch=x, y_batch=classes, a_batch=signed.copy(), channel_first=True,
        device="cpu", softmax=False))  # Quantus' default flips probabilities; ours, logits
    out["region_perturbation"] = np.array(quantus.RegionPerturbation(
        patch_size=PATCH, regions_evaluation=REGIONS, normalise=False, perturb_baseline="black",
        **common)(model=net, x_batch=x, y_batch=classes, a_batch=signed.copy(),
                  channel_first=True, device="cpu", softmax=False))
    out["imputation"] = quantus.functions.perturb_func.noisy_linear_imputation(
        arr=x[0].astype(np.float64), indices=np.flatnonzero(~data["keep"]), noise=0.0)
    gxi = explain(net, x, classes)
    out["gradient_x_input"] = gxi[:, 0]
    np.random.seed(SEED)
    out["faithfulness_correlation"] = np.array(quantus.FaithfulnessCorrelation(
        nr_runs=RUNS, subset_size=round(SUBSET * pixels) * twin_networks.CHANNELS,
        normalise=False, perturb_baseline="black", return_aggregate=False, **common)(
        model=net, x_batch=x, y_batch=classes, a_batch=gxi.copy(), channel_first=True,
        device="cpu"))
    span = twin_networks.BOUNDS[1] - twin_networks.BOUNDS[0]
    for name, metric in (("max_sensitivity", quantus.MaxSensitivity),
                         ("avg_sensitivity", quantus.AvgSensitivity)):
        np.random.seed(SEED)
        out[name] = np.array(metric(nr_samples=SAMPLES, lower_bound=RADIUS * span,
                                    normalise=False, **common)(
            model=net, x_batch=x, y_batch=classes, a_batch=gxi.copy(), channel_first=True,
            device="cpu", explain_func=explain))
    np.random.seed(SEED)
    out["local_lipschitz"] = np.array(quantus.LocalLipschitzEstimate(
        nr_samples=SAMPLES, perturb_std=RADIUS * span, normalise=False, **common)(
        model=net, x_batch=x, y_batch=classes, a_batch=gxi.copy(), channel_first=True,
        device="cpu", explain_func=explain))
    if path is not None:
        np.savez_compressed(path, **out)
    return out
