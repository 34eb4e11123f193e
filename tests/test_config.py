"""Config resolution: defaults < YAML section < flags; unknown or ill-typed keys are errors."""

from pathlib import Path

import pytest

from nnvisual.config import MaximizeConfig, TrainConfig, load_config, parse_image_size, to_dict
from nnvisual.errors import UserError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_precedence_defaults_file_flags(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n  lr: 0.01\n")
    config = load_config(TrainConfig, path, {"epochs": 7, "lr": None})
    assert (config.epochs, config.lr, config.batch_size) == (7, 0.01, 128)


def test_paper_config_matches_the_study():
    train = load_config(TrainConfig, CONFIGS / "paper.yaml")
    assert (train.model, train.epochs, train.lr) == ("plotka", 10, 1e-4)
    assert (train.batch_size, train.val_split) == (128, 0.3)
    assert (train.rotation, train.shift, train.hflip, train.augment) == (20.0, 0.2, True, True)
    assert (train.early_stopping_monitor, train.early_stopping_min_delta, train.early_stopping_patience) == (
        "loss", 0.001, 3)
    maximize = load_config(MaximizeConfig, CONFIGS / "paper.yaml")
    assert (maximize.n, maximize.steps, maximize.step_size, maximize.objective) == (5, 20, 1e-4, "logit")
    assert (maximize.retrain_lr, maximize.retrain_batch_size, maximize.retrain_epochs) == (1e-3, 32, 10)


@pytest.mark.parametrize("name, sections", [
    ("paper.yaml", {"train", "deconv", "maximize", "score_bow"}),
    ("quick.yaml", {"train", "deconv", "maximize", "score_bow"}),
    ("bonaccorso.yaml", {"train"}),
])
def test_shipped_configs_load(name, sections):
    """Each shipped file's sections load, every key as the file gives it (read here with
    yaml.safe_load), every other key at its dataclass default."""
    import dataclasses

    import yaml

    from nnvisual.config import SECTIONS

    document = yaml.safe_load((CONFIGS / name).read_text())
    assert set(document) == sections
    for section, values in document.items():
        cls = SECTIONS[section]
        config = load_config(cls, CONFIGS / name)
        for field in dataclasses.fields(cls):
            loaded = getattr(config, field.name)
            if field.name in values:
                given = values[field.name]
                assert loaded == (tuple(given) if isinstance(given, list) else given), (section, field.name)
            elif field.default is not dataclasses.MISSING:
                assert loaded == field.default, (section, field.name)
            else:
                assert loaded == field.default_factory(), (section, field.name)


@pytest.mark.parametrize("text, message", [
    ("train:\n  epoch: 3\n", "unknown config key 'epoch'"),
    ("trian:\n  epochs: 3\n", "unknown section 'trian'"),
    ("train:\n  epochs: three\n", "'epochs' must be an integer"),
    ("train:\n  epochs: 2.5\n", "'epochs' must be an integer"),
    ("train:\n  augment: 1\n", "'augment' must be true or false"),
    ("train:\n  epochs: -1\n", "epochs must be at least 1"),
    ("train:\n  val_split: 1.5\n", "val_split must be in (0, 1)"),
    ("train: [1, 2]\n", "must map keys to values"),
    ("- a\n- b\n", "must map section names"),
    ("train:\n  epochs: [\n", "not valid YAML"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(UserError, match=None) as error:
        load_config(TrainConfig, write(tmp_path, text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(TrainConfig, tmp_path / "nope.yaml")


def test_ints_are_accepted_for_floats_and_lists_from_strings(tmp_path):
    from nnvisual.config import DeconvConfig

    assert load_config(TrainConfig, None, {"lr": 1}).lr == 1.0
    assert load_config(DeconvConfig, None, {"layers": "conv1, conv2"}).layers == ("conv1", "conv2")
    assert to_dict(load_config(DeconvConfig, None, {"layers": ["a"]}))["layers"] == ["a"]


@pytest.mark.parametrize("spec, size", [(None, None), ("224", (224, 224)), ("224x160", (224, 160)),
                                        ("32X48", (32, 48)), (64, (64, 64))])
def test_image_size_is_a_side_or_height_x_width(spec, size):
    assert parse_image_size(spec) == size


@pytest.mark.parametrize("spec", ["3x", "x4", "0", "4x0", "2x3x4", "big", "-5"])
def test_a_malformed_image_size_is_one_clear_error(spec):
    with pytest.raises(UserError, match=f"image_size must be N or HxW in pixels .* got '{spec}'"):
        MaximizeConfig(image_size=spec)


def test_attribute_and_sanity_default_to_the_network_that_works_offline():
    """attribute and sanity default to EfficientNet-Lite0 (its weights ship with nnvisual);
    deconv and maximize keep the study's VGG16."""
    from nnvisual.config import AttributeConfig, DeconvConfig, SanityConfig

    assert AttributeConfig().model == SanityConfig().model == "efficientnet-lite0"
    assert DeconvConfig().model == MaximizeConfig().model == "vgg16"
