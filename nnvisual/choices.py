"""Every list of choices a user can make, in one place and free of heavy imports.

The library module named beside each list implements the choices and checks against it; the
command configs (:mod:`nnvisual.config`) validate with it and the command line offers it
(``click.Choice``), so a choice is added by adding it here and implementing it there.
"""

TRAINABLE_MODELS = ("plotka", "bonaccorso")  # models.BUILDERS: the study's CIFAR-10 networks
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
SMOOTHGRAD_BASES = ("saliency", "gradient-x-input", "guided", "deconvnet")  # attribution.gradient_methods
CAM_METHODS = ("gradcam", "gradcam++", "scorecam", "guided-gradcam")  # attribution.cam
ATTRIBUTION_METHODS = (*SMOOTHGRAD_BASES, "integrated-gradients", "smoothgrad", *CAM_METHODS,
                       "occlusion")  # attribution.attribute
BASELINES = ("black", "blur", "noise")  # attribution.baselines
RANDOMIZATIONS = ("cascading", "independent")  # sanity.randomization


def one_of(choices) -> str:
    """``a, b or c``: the choices in words, for messages."""
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
