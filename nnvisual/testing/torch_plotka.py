"""The study's plotka network and its training in plain PyTorch: the peer `make bench` measures
nnvisual's training against (scripts/bench_train.py).

:func:`torch_plotka` is the same network as :func:`nnvisual.models.study.build_plotka` (mean
subtraction, three blocks of two 3x3 convolutions with dropout, a 1024-unit dense layer held to
max-norm 3, dropout, ten logits), NCHW, with :func:`copy_keras_weights` giving it a Keras
plotka's weights (kernels transposed; the first dense layer's rows permuted, since Keras flattens
channels last). :func:`train_epoch` is the loop a PyTorch user would write: shuffled batches, the
study's augmentation drawn from the same law as nnvisual's
(:meth:`nnvisual.training.augmentation.Augmentation.transforms`, applied with
``torch.nn.functional.grid_sample``, bilinear, edge pixels repeated), Adam, cross-entropy, the
max-norm constraint after each step as Keras applies it.
"""

from __future__ import annotations

import numpy as np


def torch_plotka(mean: np.ndarray, num_classes: int = 10):
    """plotka in PyTorch (NCHW input in 0..255, the channel means subtracted first)."""
    import torch
    from torch import nn

    class Plotka(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(np.asarray(mean, np.float32)).view(1, 3, 1, 1))
            conv = [nn.Conv2d(i, o, 3, padding=1) for i, o in
                    ((3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128))]
            self.convs = nn.ModuleList(conv)
            self.dense1 = nn.Linear(128 * 4 * 4, 1024)
            self.dense2 = nn.Linear(1024, num_classes)
            self.dropout = nn.Dropout(0.2)

        def forward(self, x):
            x = x - self.mean
            for k, conv in enumerate(self.convs):
                x = torch.relu(conv(x))
                x = self.dropout(x) if k % 2 == 0 else nn.functional.max_pool2d(x, 2)
            x = self.dropout(torch.flatten(x, 1))
            x = self.dropout(torch.relu(self.dense1(x)))
            return self.dense2(x)

        def apply_max_norm(self, limit: float = 3.0):
            """Keras' MaxNorm(3) on dense1's kernel: each unit's incoming weights scaled to a norm
            of at most ``limit`` (Keras: ``w * clip(norm, 0, limit) / (epsilon + norm)``)."""
            with torch.no_grad():
                w = self.dense1.weight  # (out, in): a unit's incoming weights are a row
                norms = w.norm(dim=1, keepdim=True)
                w.mul_(norms.clamp(0, limit) / (1e-7 + norms))

    return Plotka()


def copy_keras_weights(keras_model, net) -> None:
    """Give ``net`` (:func:`torch_plotka`) the weights of a Keras plotka."""
    import torch

    def keras_weights(name):
        return [np.asarray(w) for w in keras_model.get_layer(name).get_weights()]

    with torch.no_grad():
        for k, conv in enumerate(net.convs, start=1):
            kernel, bias = keras_weights(f"conv{k}")
            conv.weight.copy_(torch.tensor(kernel.transpose(3, 2, 0, 1)))
            conv.bias.copy_(torch.tensor(bias))
        kernel, bias = keras_weights("dense1")  # rows in (h, w, c) order; torch flattens (c, h, w)
        rows = np.arange(kernel.shape[0]).reshape(4, 4, 128).transpose(2, 0, 1).ravel()
        net.dense1.weight.copy_(torch.tensor(kernel[rows].T))
        net.dense1.bias.copy_(torch.tensor(bias))
        kernel, bias = keras_weights("dense2")
        net.dense2.weight.copy_(torch.tensor(kernel.T))
        net.dense2.bias.copy_(torch.tensor(bias))


def augment(images, augmentation, rng: np.random.Generator):
    """A batch (N, 3, H, W float tensor) under the study's augmentation (one draw per image)."""
    import torch

    n, _, height, width = images.shape
    maps = augmentation.transforms(rng, n, height, width)  # output -> input pixel coordinates
    # to affine_grid's normalized coordinates (align_corners=True: -1 and 1 are the edge pixels)
    to_pixels = np.array([[(width - 1) / 2, 0, (width - 1) / 2], [0, (height - 1) / 2, (height - 1) / 2],
                          [0, 0, 1]])
    full = np.concatenate([maps, np.tile([[[0, 0, 1]]], (n, 1, 1))], axis=1)
    theta = (np.linalg.inv(to_pixels) @ full @ to_pixels)[:, :2]
    grid = torch.nn.functional.affine_grid(torch.tensor(theta, dtype=images.dtype), list(images.shape),
                                           align_corners=True)
    return torch.nn.functional.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                                           align_corners=True)


def train_epoch(net, optimizer, x: np.ndarray, y: np.ndarray, batch_size: int, augmentation,
                rng: np.random.Generator) -> float:
    """One epoch of plain PyTorch training on uint8 NHWC images ``x``; the mean loss."""
    import torch

    net.train()
    order = rng.permutation(len(x))
    losses = []
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        images = torch.from_numpy(np.ascontiguousarray(x[batch].transpose(0, 3, 1, 2))).float()
        if augmentation is not None:
            images = augment(images, augmentation, rng)
        loss = torch.nn.functional.cross_entropy(net(images), torch.from_numpy(y[batch]).long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        net.apply_max_norm()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def accuracy(net, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Top-1 accuracy of ``net`` on uint8 NHWC images."""
    import torch

    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            images = torch.from_numpy(np.ascontiguousarray(
                x[start:start + batch_size].transpose(0, 3, 1, 2))).float()
            correct += int((net(images).argmax(1).numpy() == y[start:start + batch_size]).sum())
    return correct / len(x)
