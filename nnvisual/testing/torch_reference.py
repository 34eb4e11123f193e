"""timm's EfficientNet-Lite0 holding nnvisual's weights: the PyTorch side of the reference checks
(tests/test_efficientnet_lite.py, nnvisual/testing/attribution_reference.py,
scripts/bench_maximize.py, scripts/bench_attribute.py).
Needs the ``reference`` extra; without it, :func:`import_timm` skips the calling test."""

import importlib.util
import sys
from pathlib import Path

import pytest

_OPS_READY = False  # declare_torchvision_ops ran


def import_timm():
    """timm, or a skip. The registry's torchvision is built against CUDA torch: with the CPU torch
    its C++ ops do not load, and its import then fails registering fake kernels for
    ``torchvision::nms``/``qnms``; declaring those two ops (which the reference never runs) lets
    it import."""
    torch = pytest.importorskip("torch", reason="torch is not installed (the reference extra)")
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed (the reference extra)")
    declare_torchvision_ops(torch)
    import timm

    return torch, timm


def declare_torchvision_ops(torch) -> None:
    """Before torchvision is first imported: load its C++ ops, or where they do not load (the
    registry's build against CUDA torch), declare the two whose fake kernels its import registers."""
    global _OPS_READY
    spec = importlib.util.find_spec("torchvision")
    if spec is None or _OPS_READY or "torchvision" in sys.modules:
        return
    try:
        torch.ops.load_library(Path(spec.origin).parent / "_C.so")
    except (OSError, RuntimeError):
        for op in ("nms", "qnms"):
            torch.library.define(f"torchvision::{op}",
                                 "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _OPS_READY = True


def timm_state_dict(state, net):
    """``state``'s tensors under timm's names: blocks in order onto ``blocks.<stage>.<index>``."""
    import torch

    names = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
             "_fc": "classifier"}
    expanded = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    theirs = [(s, i, hasattr(block, "conv_pwl")) for s, stage in enumerate(net.blocks)
              for i, block in enumerate(stage)]
    assert len(theirs) == 1 + max(int(key.split(".")[1]) for key in state if key.startswith("_blocks."))
    for n, (s, i, has_expansion) in enumerate(theirs):
        for ours, timms in (expanded if has_expansion else separable).items():
            names[f"_blocks.{n}.{ours}"] = f"blocks.{s}.{i}.{timms}"
    return {f"{names[key.rsplit('.', 1)[0]]}.{key.rsplit('.', 1)[1]}": torch.from_numpy(value)
            for key, value in state.items()}


def timm_lite0():
    """timm's ``tf_efficientnet_lite0`` with nnvisual's EfficientNet-Lite0 weights, in eval mode."""
    from nnvisual.models import efficientnet_lite
    from nnvisual.models.torch_weights import read_state_dict

    _, timm = import_timm()
    _, _, _, sha256, _ = efficientnet_lite.VARIANTS["efficientnet-lite0"]
    state = read_state_dict(efficientnet_lite.weights_path("efficientnet-lite0"), sha256)
    net = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    net.load_state_dict(timm_state_dict(state, net), strict=True)
    return net
