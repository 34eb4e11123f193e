"""Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) on Keras 3: the
rules (:mod:`~nnvisual.attribution.lrp.rules`), the composites that give each layer its rule
(:mod:`~nnvisual.attribution.lrp.composites`) and the propagation through a model's graph
(:mod:`~nnvisual.attribution.lrp.propagate`). docs/lrp.md explains them and how to choose."""
