"""How good is an attribution map, measured the way the field measures it (``nnvisual evaluate``;
docs/evaluation.md).

One module per family of metrics, each metric a function ``f(task) -> (N,)`` of a
:class:`~nnvisual.evaluation.task.Task` (the model's scores, the images, their maps, and what
some metrics need besides: a way to explain again, masks): ``faithfulness`` (ROAD, faithfulness
correlation, pixel flipping, region perturbation, deletion and insertion), ``complexity``
(sparseness, entropy), ``robustness`` (max- and avg-sensitivity, local Lipschitz estimate),
``randomisation`` (model parameter randomisation, random logit), ``axiomatic`` (completeness,
input invariance) and ``localisation`` (pointing game, relevance mass and rank accuracy).
:data:`nnvisual.evaluation.metrics.METRICS` is their table.
"""
