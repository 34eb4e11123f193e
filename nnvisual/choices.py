"""The short lists of choices a user can make, in one place and free of heavy imports.

The library module named beside each list implements the choices and checks against it; the
command configs (:mod:`nnvisual.config`) validate with it and the command line offers it
(``click.Choice``), so such a choice is added by adding it here and implementing it there.
The families that grow have a table of their own, read by the configs and the command line
alike: the attribution methods (:data:`nnvisual.attribution.methods.METHODS`), the networks known
by name (:data:`nnvisual.models.zoo.NAMED`, and :data:`nnvisual.models.study.BUILDERS` for
``train``) and the terms of ``--objective`` (:data:`nnvisual.optvis.objective_parser.KINDS`).
"""

PRECISIONS = ("auto", "float32", "mixed_bfloat16")  # training.resolve_precision
EARLY_STOPPING_MONITORS = ("loss", "val_loss", "none")  # training.fit
CACHE_MODES = ("auto", "memory", "none")  # streaming.open_dataset: decode whole, or stream
DISTRIBUTIONS = ("none", "data-parallel")  # distribute.strategy
DECONV_METHODS = ("deconvnet", "guided", "gradient")  # deconv.RULES: ReLU's backward rule
DECONV_MODES = ("max", "map")  # deconv.seeds: from the strongest activation or the whole map
SPLITS = ("train", "test")  # data.Dataset
OBJECTIVES = ("logit", "softmax")  # optvis.objectives.ClassObjective
INITS = ("paper", "uniform", "gray")  # optvis.param.initial_image
PARAMS = ("pixel", "fft")  # optvis.param: raw pixels, or lucid's 1/f-scaled Fourier spectrum
OPTIMIZERS = ("study", "adam")  # optvis.render.UPDATE_RULES: pixel ascent's update rule
DESCRIPTORS = ("sift", "dense-sift", "harris")  # descriptors.extract.image_features
IDF_WEIGHTINGS = ("smooth", "plain")  # descriptors.bow.VisualVocabulary
BOW_WEIGHTINGS = ("consistent", "study-2019")  # steps.score_bow: descriptors.bow or .study2019
STUDY_IDFS = ("before", "after")  # descriptors.study2019.QUERY_IDFS: the query's idf formula
BASELINES = ("black", "blur", "noise")  # attribution.baselines
HEAD_FUSIONS = ("mean", "max", "min")  # attribution.attention.rollout
RANDOMIZATIONS = ("cascading", "independent")  # sanity.randomization


def one_of(choices) -> str:
    """``a, b or c``: the choices in words, for messages."""
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
