"""captum's ``DeepLift`` and ``DeepLiftShap`` (Rescale; Shrikumar et al. 2017, Lundberg & Lee
2017) as the references of nnvisual's ``deeplift`` and ``deepshap``
(nnvisual/testing/lrp_reference.py).

Two things stand between captum 0.9.0 and its own rules; :func:`captum_ready` removes both:

- captum gives a nonlinearity its Rescale multiplier only when the module's type is exactly one
  of its list (``nn.ReLU``, ``nn.ELU``, ``nn.Sigmoid``, ..., max pooling); any other module is
  differentiated by autograd, silently. timm's EfficientNet-Lite0 uses ``nn.ReLU6``, which is not
  in the list: each one is written as two ``nn.ReLU`` (:func:`relu6_as_relus`).
- Where one hooked module's output is the next one's input (a ReLU straight into a max pooling),
  captum reads the gradient at that tensor before the second module's rule replaces it, so the
  first one's multipliers are computed from the plain gradient (captum#1104, fixed after 0.9.0):
  on the VGG twin the attributions then miss summation-to-delta by up to 0.2 of the logit. Each
  max pooling reads a copy of its input instead (:func:`pools_on_copies`), a new tensor, whose
  gradient is the one the pooling's rule made.
"""

from __future__ import annotations

import numpy as np
import pytest


def import_captum():
    """captum's attribution module, or a skip (the reference extra)."""
    pytest.importorskip("torch", reason="torch is not installed (the reference extra)")
    return pytest.importorskip("captum.attr", reason="captum is not installed (the reference extra)")


def relu6_as_relus(net):
    """A copy of ``net`` with each ``nn.ReLU6`` written as ``y - relu(y - 6)``, ``y = relu(x)``.

    The same function, and under Rescale the same multiplier as one ReLU6: along a chain the
    multipliers multiply, (dy / dx) (1 - d relu(y - 6) / dy) = (dy - d relu(y - 6)) / dx =
    d relu6(x) / dx, where d is the change from the reference (and where a change is below
    captum's eps, the gradients multiply likewise: relu'(x) (1 - relu'(y - 6)) = relu6'(x))."""
    import copy

    import torch

    class ReLU6AsReLUs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.relu, self.excess = torch.nn.ReLU(), torch.nn.ReLU()  # one module per use

        def forward(self, x):
            y = self.relu(x)
            return y - self.excess(y - 6.0)

    net = copy.deepcopy(net)
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.ReLU6):
                setattr(module, name, ReLU6AsReLUs())
    return net


def captum_ready(net):
    """A copy of ``net`` whose every nonlinearity captum gives its rule (the module docstring)."""
    return pools_on_copies(relu6_as_relus(net))


def pools_on_copies(net):
    """``net`` (changed in place) with each ``nn.MaxPool2d`` reading a copy of its input."""
    import torch

    class Copy(torch.nn.Module):
        def forward(self, x):
            return x.clone()

    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.MaxPool2d):
                setattr(module, name, torch.nn.Sequential(Copy(), child))
    return net


def _tensor(images: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def deeplift(net, x: np.ndarray, baselines: np.ndarray, classes) -> np.ndarray:
    """captum's ``DeepLift`` attributions (B, H, W, C) of ``x`` against ``baselines`` (both
    (B, H, W, C) model inputs) for ``classes``; float64."""
    attr = import_captum()
    maps = attr.DeepLift(net).attribute(_tensor(x), _tensor(baselines), target=[int(c) for c in classes])
    return maps.detach().double().numpy().transpose(0, 2, 3, 1)


def deepshap(net, x: np.ndarray, background: np.ndarray, classes) -> np.ndarray:
    """captum's ``DeepLiftShap`` attributions (B, H, W, C) of ``x`` averaged over the
    ``background`` references (N, H, W, C) for ``classes``; float64."""
    attr = import_captum()
    maps = attr.DeepLiftShap(net).attribute(_tensor(x), _tensor(background),
                                            target=[int(c) for c in classes])
    return maps.detach().double().numpy().transpose(0, 2, 3, 1)
