"""Command configurations: frozen dataclasses filled from a YAML file, then from CLI flags."""

from nnvisual.config.commands import (  # noqa: F401
    SECTIONS,
    AttributeConfig,
    DeconvConfig,
    MaximizeConfig,
    SanityConfig,
    ScoreBowConfig,
    TrainConfig,
    check_cluster,
    load_config,
    parse_image_size,
    read_config_file,
    settings_from,
    to_dict,
)
