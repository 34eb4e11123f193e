"""The command line's front door: help without the backends, a quiet start, ``--verbose``."""

import os
import subprocess
import sys

from nnvisual import data
from nnvisual.runtime import tensorflow_setup
from nnvisual.testing.processes import NATIVE_LINE


def test_help_loads_no_backend():
    code = ("import sys\n"
            "from nnvisual.cli import COMMANDS, main\n"
            "for args in [['--help'], *([name, '--help'] for name in COMMANDS)]:\n"
            "    assert main(args, prog_name='nnvisual', standalone_mode=False) == 0, args\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'jax', 'torch'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Usage: nnvisual deconv" in result.stdout and "--verbose" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


def test_a_real_command_starts_quietly_and_keeps_its_own_warnings(image_folder, isolated):
    data.load_image_folder(image_folder)
    (cache,) = (isolated / "cache" / "datasets").glob("*.npz")
    cache.write_bytes(b"damaged")  # rebuilt, with one warning line
    (isolated / "c.yaml").write_text("train:\n  epochs: 1\n  batch_size: 4\n  num_classes: 3\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")  # a user's setting that shows every C++ line
    result = subprocess.run([sys.executable, "-m", "nnvisual", "train", "--config", "c.yaml", "--data",
                             str(image_folder), "--subset", "9", "--out", "run"],
                            cwd=isolated, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "wrote run"
    assert f"warning: discarding the unreadable cache {cache}" in result.stderr
    assert not NATIVE_LINE.search(result.stderr), result.stderr


def test_verbose_leaves_tensorflow_logging_as_the_environment_says(cli, monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert cli("--verbose", "report", "--help").exit_code == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert not any(isinstance(finder, tensorflow_setup.QuietImport) for finder in sys.meta_path)
    assert cli("report", "--help").exit_code == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == tensorflow_setup.QUIET_LEVEL


def test_nnvisual_tf_logs_shows_them_as_verbose_does(cli, monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.setenv(tensorflow_setup.LOGS_VARIABLE, "1")
    assert cli("report", "--help").exit_code == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert not any(isinstance(finder, tensorflow_setup.QuietImport) for finder in sys.meta_path)
