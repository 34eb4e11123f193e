"""A tiny vision transformer with the same weights in Keras (:func:`nnvisual.models.vit.build_vit`)
and in timm (``VisionTransformer``), and the references the ViT methods are checked against
(tests/test_vit_reference.py):

- :func:`rollout_reference`: vit-explain's ``rollout`` (Jacob Gildenblat,
  github.com/jacobgil/vit-explain, ``vit_rollout.py``) in NumPy, one image at a time. vit-explain
  writes ``a / a.sum(dim=-1)``, which on its (1, T, T) tensor divides column j by row j's sum;
  the rows are renormalized here as Abnar & Zuidema (2020) and the docstring of that code say;
- :func:`relevance_reference`: Chefer et al.'s ``generate_relevance`` (github.com/hila-chefer/
  Transformer-MM-Explainability, ``avg_heads`` and ``apply_self_attention_rules``) on timm's
  attention maps and their gradients, read with hooks in PyTorch;
- :func:`grad_cam_reference`: pytorch-grad-cam's ``GradCAM`` on ``model.blocks[-1].norm1`` with
  its ViT ``reshape_transform`` (its tutorial's).

Keras' ``MultiHeadAttention`` keeps a (D, heads, d) kernel per query, key and value and a
(heads, d, D) output kernel; timm's ``Attention`` one fused (3 heads d, D) ``qkv`` and a (D,
heads d) ``proj``. timm's layer norms take epsilon 1e-6 and its GELU is exact, as the Keras ViT's.
The Keras model takes 0..255 pixels and normalizes them itself; timm is given the normalized
input (:func:`timm_input`).
"""

from __future__ import annotations

import numpy as np

from nnvisual.models.vit import PIXEL_SCALE

SIZE, PATCH, DIM, DEPTH, HEADS, MLP_RATIO, CLASSES = 32, 4, 32, 2, 4, 2, 10


def keras_vit(seed: int = 0):
    """The tiny Keras ViT with weights drawn by NumPy from ``seed`` (zero-mean normalization)."""
    from nnvisual.models.vit import build_vit

    model = build_vit(CLASSES, image_size=SIZE, patch=PATCH, dim=DIM, depth=DEPTH, heads=HEADS,
                      mlp_ratio=MLP_RATIO, name="vit_twin")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.name == "normalize":
            continue
        values = []
        for variable in layer.weights:
            shape = tuple(variable.shape)
            if "gamma" in variable.path:
                values.append(1 + 0.1 * rng.standard_normal(shape))
            else:
                scale = 0.3 if len(shape) <= 1 else 1 / np.sqrt(np.prod(shape[:-1]) or 1)
                values.append(scale * rng.standard_normal(shape))
        layer.set_weights([v.astype(np.float32) for v in values])
    return model


def timm_input(x: np.ndarray):
    """0..255 images (B, H, W, 3) as the torch tensor timm's twin reads (NCHW, normalized)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray((x / PIXEL_SCALE).transpose(0, 3, 1, 2),
                                                 np.float32))


def timm_vit(model):
    """timm's ``VisionTransformer`` holding the Keras ViT ``model``'s weights (vit-tiny's layer
    names; sizes read from its weights), in eval mode, its attention unfused (so that its maps
    can be read). A model with two leading tokens (DeiT's class and distillation tokens) gives
    timm's ``VisionTransformerDistilled``, whose distillation head, which the Keras model lacks,
    holds the class head's weights (:func:`class_token_logits` reads the class head alone)."""
    import torch
    from timm.models.deit import VisionTransformerDistilled
    from timm.models.vision_transformer import VisionTransformer

    weights = {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers}
    kernel, bias = weights["patch_embed"]
    patch, dim = kernel.shape[0], kernel.shape[-1]
    depth = sum(name.endswith("_attn") for name in weights)
    leading, position = weights["tokens"]
    distilled = leading.shape[1] == 2
    net = (VisionTransformerDistilled if distilled else VisionTransformer)(
        img_size=model.input_shape[1], patch_size=patch, num_classes=weights["head"][0].shape[1],
        embed_dim=dim, depth=depth, num_heads=weights["block1_attn"][0].shape[1],
        mlp_ratio=weights["block1_mlp1"][0].shape[1] / dim, qkv_bias=True)
    state = {}
    state["patch_embed.proj.weight"], state["patch_embed.proj.bias"] = kernel.transpose(3, 2, 0, 1), bias
    state["cls_token"], state["pos_embed"] = leading[:, :1], position
    for i in range(depth):
        name, block = f"block{i + 1}", f"blocks.{i}"
        for norm in ("norm1", "norm2"):
            state[f"{block}.{norm}.weight"], state[f"{block}.{norm}.bias"] = weights[f"{name}_{norm}"]
        qk, qb, kk, kb, vk, vb, ok, ob = weights[f"{name}_attn"]
        state[f"{block}.attn.qkv.weight"] = np.concatenate(
            [k.reshape(dim, -1).T for k in (qk, kk, vk)])
        state[f"{block}.attn.qkv.bias"] = np.concatenate([b.reshape(-1) for b in (qb, kb, vb)])
        state[f"{block}.attn.proj.weight"], state[f"{block}.attn.proj.bias"] = ok.reshape(-1, dim).T, ob
        for keras_name, torch_name in (("mlp1", "fc1"), ("mlp2", "fc2")):
            kernel, bias = weights[f"{name}_{keras_name}"]
            state[f"{block}.mlp.{torch_name}.weight"] = kernel.T
            state[f"{block}.mlp.{torch_name}.bias"] = bias
    state["norm.weight"], state["norm.bias"] = weights["norm"]
    heads = ("head", "head_dist") if distilled else ("head",)
    for head in heads:
        state[f"{head}.weight"], state[f"{head}.bias"] = weights["head"][0].T, weights["head"][1]
    if distilled:
        state["dist_token"] = leading[:, 1:]
    net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                         for k, v in state.items()})
    for block in net.blocks:
        block.attn.fused_attn = False
    return net.eval()


def class_token_logits(net, inputs: np.ndarray) -> np.ndarray:
    """timm's ``head`` on the class token of ``net``'s last tokens, for preprocessed (B, H, W, 3)
    ``inputs``: a ``VisionTransformer``'s logits; a ``VisionTransformerDistilled``'s forward
    averages them with ``head_dist`` on the distillation token (Keras Hub's DeiT classifier has
    the class head only)."""
    import torch

    with torch.no_grad():
        tokens = net.forward_features(torch.from_numpy(np.ascontiguousarray(
            inputs.transpose(0, 3, 1, 2), np.float32)))
        return net.head(tokens[:, 0]).numpy()


def timm_attention(net, x: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """timm's attention maps (L, B, heads, T, T) and d logit[c_i] / d map (hooks on
    ``attn_drop``, the identity in eval mode, whose input is the softmax)."""
    import torch

    maps, grads = [], {}
    handles = []
    for i, block in enumerate(net.blocks):
        def keep(module, inputs, output, i=i):
            maps.append(output)
            output.register_hook(lambda grad, i=i: grads.__setitem__(i, grad))

        handles.append(block.attn.attn_drop.register_forward_hook(keep))
    logits = net(timm_input(x))
    onehot = torch.zeros_like(logits)
    onehot[torch.arange(len(x)), torch.as_tensor(np.asarray(classes))] = 1
    (logits * onehot).sum().backward()
    for handle in handles:
        handle.remove()
    return (np.stack([m.detach().double().numpy() for m in maps]),
            np.stack([grads[i].double().numpy() for i in range(len(maps))]))


def rollout_reference(attentions: np.ndarray, discard_ratio: float, head_fusion: str) -> np.ndarray:
    """vit-explain's rollout of one image's maps (L, heads, T, T) -> the joint attention (T, T)
    (rows renormalized; see the module docstring)."""
    result = np.eye(attentions.shape[-1])
    for attention in attentions:
        fused = {"mean": attention.mean(axis=0), "max": attention.max(axis=0),
                 "min": attention.min(axis=0)}[head_fusion]
        flat = fused.reshape(-1).copy()
        indices = np.argsort(flat, kind="stable")[:int(flat.size * discard_ratio)]
        indices = indices[indices != 0]
        flat[indices] = 0
        fused = flat.reshape(fused.shape)
        a = (fused + np.eye(len(fused))) / 2
        a = a / a.sum(axis=-1, keepdims=True)
        result = a @ result
    return result


def relevance_reference(attentions: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """Chefer et al.'s ``generate_relevance`` for one image's maps and gradients (L, heads, T, T):
    the class token's row over the other tokens, R[0, 1:]."""
    def avg_heads(cam, grad):
        return np.clip(grad * cam, 0, None).mean(axis=0)

    def apply_self_attention_rules(r_ss, cam_ss):
        return cam_ss @ r_ss

    r = np.eye(attentions.shape[-1])
    for cam, grad in zip(attentions, grads, strict=True):
        r = r + apply_self_attention_rules(r, avg_heads(cam, grad))
    return r[0, 1:]


def grad_cam_reference(net, x: np.ndarray, classes) -> np.ndarray:
    """pytorch-grad-cam's GradCAM maps (B, H, W) on ``net.blocks[-1].norm1`` (min-max scaled)."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    side = SIZE // PATCH

    def reshape_transform(tensor):
        result = tensor[:, 1:, :].reshape(tensor.size(0), side, side, tensor.size(2))
        return result.transpose(2, 3).transpose(1, 2)

    with GradCAM(net, target_layers=[net.blocks[-1].norm1],
                 reshape_transform=reshape_transform) as cam:
        return cam(timm_input(x), [ClassifierOutputTarget(int(c)) for c in classes])
