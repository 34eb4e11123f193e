"""Command configurations: frozen dataclasses filled from a YAML file, then from CLI flags.

One module per command (:mod:`~nnvisual.config.train`, :mod:`~nnvisual.config.deconv`,
:mod:`~nnvisual.config.maximize`, :mod:`~nnvisual.config.score_bow`,
:mod:`~nnvisual.config.attribute`, :mod:`~nnvisual.config.evaluate`), each field declared with its
default and meaning (:func:`nnvisual.config.fields.setting`: the one source of ``--help`` and the
API docstrings);
:mod:`~nnvisual.config.loading` reads a YAML file and the flags. A config checks its own fields
and builds the library's settings objects it holds (which check theirs), so a config that
exists is valid.
"""

from nnvisual.config.atlas import AtlasConfig  # noqa: F401
from nnvisual.config.attribute import AttributeConfig, SanityConfig  # noqa: F401
from nnvisual.config.deconv import DeconvConfig  # noqa: F401
from nnvisual.config.evaluate import EvaluateConfig  # noqa: F401
from nnvisual.config.fields import parse_image_size, settings_from  # noqa: F401
from nnvisual.config.loading import SECTIONS, load_config, read_config_file, to_dict  # noqa: F401
from nnvisual.config.maximize import MaximizeConfig  # noqa: F401
from nnvisual.config.score_bow import ScoreBowConfig  # noqa: F401
from nnvisual.config.train import TrainConfig, check_cluster  # noqa: F401
