"""Networks and loading them.

- :mod:`~nnvisual.models.loading`: the one path from a name, a file, a ``train`` run folder or a
  live ``keras.Model`` to a :class:`~nnvisual.models.loaded.LoadedModel`;
- :mod:`~nnvisual.models.loaded`: a model with its input size, preprocessing and class names;
- :mod:`~nnvisual.models.zoo`: the networks known by name (VGG16, EfficientNet-Lite0/1/2);
- :mod:`~nnvisual.models.study`: the study's two CIFAR-10 networks, which ``train`` builds;
- :mod:`~nnvisual.models.heads`: a classifier's last layer and its activation;
- :mod:`~nnvisual.models.classes`: class names, and which class a user means;
- :mod:`~nnvisual.models.efficientnet_lite`, :mod:`~nnvisual.models.torch_weights`: the Lite
  networks built from their PyTorch weight files, read without PyTorch.
"""
