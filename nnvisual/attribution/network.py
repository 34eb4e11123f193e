"""A classifier as the attribution methods see it: its pre-softmax class scores (logits) as a
function of the input, their gradients, and the split of the network at a feature map (for the
CAM family). Everything goes through ``keras.ops`` and :mod:`nnvisual.graph.gradients`, so it runs on
each Keras backend and on any functional graph, nested models included: the split at a feature
map replays the graph (:func:`nnvisual.graph.replay`) with that layer's output given, so paths
that skip the feature map still see the input, and a feature map inside a nested model is named
by its path (``backbone/out_relu``). The scores and the feature maps are computed by the
model's inference-only copy (:func:`nnvisual.graph.inference_model.for_inference`: batch
normalizations folded, depthwise convolutions shifted on JAX), made from the weights the model
has when the network is made; DeconvNet and guided backpropagation project through the model
itself."""

from __future__ import annotations

import dataclasses

import numpy as np
from keras import ops

from nnvisual import graph
from nnvisual.errors import UserError
from nnvisual.graph import gradients
from nnvisual.graph.inference_model import copy_weights, for_inference
from nnvisual.models.heads import find_head, input_source


class Network:
    """Logits, probabilities and gradients of one model, each compiled once.

    Scores are read before the model's last activation (a softmax or a sigmoid, at any depth of
    nesting: :class:`~nnvisual.models.heads.Head`), as Grad-CAM (Selvaraju et al. 2017) and
    integrated gradients (Sundararajan et al. 2017) recommend; ``output`` names the output of a
    model with several.

    ``input_bounds``: ``(low, high)``, the smallest and largest values of the model's input (in
    its own space, after any preprocessing the caller applies), for the rules that need them
    (LRP's z-box); default 0 and 255 (nnvisual's models take 0..255 pixels).

    Its compiled functions read the weights each time they run (on JAX too, as arguments:
    :func:`nnvisual.graph.gradients.compile_function`), so a program JAX stores holds none.
    ``inference_copy=False`` computes with ``model`` itself, or on JAX with a copy whose
    depthwise convolutions are shifted (nothing folded), so the network follows changes to the
    model's weights made in place, once told by :meth:`weights_changed`: one network, compiled
    once, serves every stage of a weight-randomization test."""

    def __init__(self, model, inference_copy: bool = True, input_bounds=None,
                 output: str | None = None):
        self.model = model
        self.input_bounds = input_bounds  # (low, high) of the model's input, for LRP's z-box
        # a copy that follows the model: unfolded (its layers the model's, one for one; on JAX
        # its depthwise convolutions shifted), weights copied in by weights_changed
        self._inference = for_inference(model, fold=inference_copy)
        self._followed = tuple(self._inference.variables)  # arguments of the compiled functions
        self._follows_model = not inference_copy
        self.head = find_head(self._inference, output)
        self._compiled = {}
        self._kept = {}
        self._feature_layers = {}  # a layer given (None: the default) -> its checked path
        self.num_classes = self.head.width

    @property
    def inference_model(self):
        """The model the scores are computed with (its inference-only copy, or itself)."""
        return self._inference

    def score_layer(self) -> tuple[str, bool]:
        """``(path, fused)``: the layer of :attr:`inference_model` whose output holds the scores,
        and whether that is its output without its own activation (:class:`Head`)."""
        return self.head.path, self.head.fused

    def logits_of(self, x):
        """The class scores of a batch (a backend tensor; traceable)."""
        return self.head.read(self._inference, x)[0]

    def kept(self, key, make):
        """``make()``, made once per ``key`` for this network (a rule graph, its copies)."""
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]

    def compiled(self, key, fn):
        """``fn`` compiled once per ``key`` for this network (reading its followed weights)."""
        return self._compile(key, fn)

    def _compile(self, key, fn):
        if key not in self._compiled:
            self._compiled[key] = gradients.compile_function(fn, variables=self._followed)
        return self._compiled[key]

    def logits(self, x: np.ndarray) -> np.ndarray:
        fn = self._compile("logits", self.logits_of)
        return _numpy(fn(np.asarray(x, np.float32)))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The model's probabilities: the softmax or sigmoid of the scores its head applies (the
        softmax of a linear head's scores)."""
        logits = self.logits(x).astype(np.float64)
        if self.head.activation == "sigmoid":
            return (0.5 * (np.tanh(logits / 2) + 1)).astype(np.float32)  # the sigmoid, no overflow
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def gradient(self, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """d logit[c_i] / d x_i for each image i of the batch (one backward pass)."""
        def fn(images, onehot):
            _, grad = gradients.value_and_gradient(
                lambda z: self.explained(self.logits_of(z), onehot), images)
            return grad

        compiled = self._compile("gradient", fn)
        return _numpy(compiled(np.asarray(x, np.float32), self.onehot(classes)))

    @staticmethod
    def explained(logits, onehot):
        """The sum of each image's explained logit (``onehot`` selects it), in the logits' dtype
        (a model computing in float64 keeps its precision)."""
        return ops.sum(logits * ops.cast(onehot, logits.dtype))

    def onehot(self, classes) -> np.ndarray:
        return np.eye(self.num_classes, dtype=np.float32)[np.asarray(classes)]

    def rule_gradient(self, x: np.ndarray, classes, rule: str) -> np.ndarray:
        """The gradient of logit[c_i] with ReLU's backward rule replaced by ``rule``
        (``gradient``, ``guided`` or ``deconvnet``: :data:`nnvisual.deconv.RULES`)."""
        if rule == "gradient":
            return self.gradient(x, classes)
        from nnvisual import deconv

        key = ("projector", rule)
        if key not in self._compiled:
            self._compiled[key] = deconv.Projector(self.model, rule)
        layer, seeds = self.projection_target(classes)
        return self._compiled[key].project(np.asarray(x, np.float32), seeds, layer)

    def weights_changed(self, layers=None) -> None:
        """Say that the model's weights were changed in place (for a network made with
        ``inference_copy=False``), those of ``layers`` (paths; None: any): the projectors of the
        guided and DeconvNet rules, which hold copies of some layers, are made again when next
        used."""
        if self._follows_model and self._inference is not self.model:
            copy_weights(self.model, self._inference, layers)
        self._compiled = {key: value for key, value in self._compiled.items()
                          if not (isinstance(key, tuple) and key[0] == "projector")}

    # -- the projection seed for the deconv rules -------------------------------------------------
    def projection_target(self, classes) -> tuple[str, np.ndarray]:
        """``(layer, seeds)`` such that d <seeds[i], layer output> / d x = d logit[c_i] / d x:
        the scores' own layer with one-hot seeds, or, when the scores are a Dense layer's product
        before its activation, the layer before it with that Dense layer's kernel column as the
        seed."""
        if not self.head.fused:
            return self.head.path, self.onehot(classes)
        before = input_source(self.model, self.head.path)
        if before is None:
            raise UserError(f"'{self.head.path}' reads the model's input: guided backpropagation "
                            "and DeconvNet have no layer to project from")
        kernel = ops.convert_to_numpy(graph.get_layer(self.model, self.head.path).kernel)
        return before, np.ascontiguousarray(kernel[:, np.asarray(classes)].T, np.float32)

    # -- the split at a feature map (CAM family) ----------------------------------------------
    def feature_layers(self) -> list[str]:
        """Paths of the layers with a 4-D output (batch, height, width, channels), nested
        models' layers included, in topological order."""
        from nnvisual.deconv import feature_layers

        return feature_layers(self.model)

    def check_feature_layer(self, name: str | None) -> str:
        """``name`` (a path), or the default feature map when None: a transformer's tokens
        entering its last attention layer (:func:`nnvisual.attribution.tokens.token_layer`),
        else the last 4-D feature map; a layer of tokens (B, T, D) must be a square patch grid
        (:mod:`nnvisual.attribution.tokens`); UserError for any other layer."""
        from nnvisual.attribution import tokens
        from nnvisual.deconv import check_layers

        if name is None:
            name = tokens.token_layer(self.model)
        if name is not None and self._is_token_layer(name):
            tokens.grid_layout(graph.output_shape(self.model, name)[1], f"layer '{name}'")
            return name
        layers = self.feature_layers()
        if name is None:
            if not layers:
                raise UserError(f"model {self.model.name} has no 4-D feature map for CAM methods")
            return layers[-1]
        check_layers(self.model, [name])
        return name

    def _is_token_layer(self, path: str) -> bool:
        """The layer at ``path`` outputs tokens (B, T, D) (False for an unknown layer)."""
        try:
            graph.get_layer(self.model, path)
        except UserError:
            return False
        return len(graph.output_shape(self.model, path)) == 3

    def _as_grid(self, layer: str, array: np.ndarray) -> np.ndarray:
        """A token layer's (B, T, D) output as its (B, side, side, D) patch grid; a feature map
        as it is."""
        if array.ndim != 3:
            return array
        from nnvisual.attribution.tokens import to_grid

        return to_grid(array, f"layer '{layer}'")

    def with_feature_layer(self, settings):
        """``settings`` (:class:`~nnvisual.attribution.request.Settings`) with its feature layer
        checked and resolved (:meth:`check_feature_layer`), once per layer name."""
        if settings.layer not in self._feature_layers:
            self._feature_layers[settings.layer] = self.check_feature_layer(settings.layer)
        return dataclasses.replace(settings, layer=self._feature_layers[settings.layer])

    def _split(self, layer: str):
        """``(head, tail)``: images -> the output of ``layer`` (a path); (images, feature map)
        -> the scores, the feature map standing for what ``layer`` computes."""
        key = ("split", layer)
        if key not in self._compiled:
            copy = self._inference
            if layer not in {path for path, _ in graph.layers(copy)}:  # a folded conv
                copy = for_inference(self.model, keep=(layer,))
            scores = self.head

            def head(images):
                return graph.replay(copy, images, [layer])[layer]

            def tail(images, feature):
                def call(operation, path, args, kwargs):
                    return feature if path == layer else scores.compute(operation, path, args, kwargs)

                return graph.replay(copy, images, [scores.path], call)[scores.path]

            self._compiled[key] = head, tail
        return self._compiled[key]

    def features(self, x: np.ndarray, layer: str) -> np.ndarray:
        head, _ = self._split(layer)
        fn = self._compile(("features", layer), lambda images: head(images))
        return self._as_grid(layer, _numpy(fn(np.asarray(x, np.float32))))

    def features_and_gradient(self, x: np.ndarray, classes, layer: str):
        """The feature map A of ``layer`` and d logit[c_i] / d A_i, for each image of the batch (a
        token layer's as its patch grid: :mod:`nnvisual.attribution.tokens`)."""
        head, tail = self._split(layer)

        def fn(images, onehot):
            feature = head(images)
            _, grad = gradients.value_and_gradient(
                lambda a: self.explained(tail(images, a), onehot), feature)
            return feature, grad

        compiled = self._compile(("features_and_gradient", layer), fn)
        feature, grad = compiled(np.asarray(x, np.float32), self.onehot(classes))
        return self._as_grid(layer, _numpy(feature)), self._as_grid(layer, _numpy(grad))


def _numpy(tensor) -> np.ndarray:
    """A backend tensor as a NumPy array, a half-precision one (a ``mixed_bfloat16`` or
    ``mixed_float16`` model's feature maps, logits and gradients) as float32, which NumPy
    computes with (``einsum`` refuses bfloat16); float32 and float64 stay as they are."""
    array = ops.convert_to_numpy(tensor)
    if array.dtype.kind in "fV" and array.dtype.itemsize == 2:  # float16, bfloat16 (ml_dtypes)
        return array.astype(np.float32)
    return array


def upsample(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(B, h, w[, K]) maps to (B, H, W[, K]) by bilinear interpolation (half-pixel centres, as
    OpenCV's ``INTER_LINEAR`` that pytorch-grad-cam uses)."""
    squeeze = maps.ndim == 3
    maps = maps[..., None] if squeeze else maps
    if maps.shape[1:3] != tuple(size):
        maps = ops.convert_to_numpy(ops.image.resize(maps.astype(np.float32), size,
                                                     interpolation="bilinear"))
    return maps[..., 0] if squeeze else maps
