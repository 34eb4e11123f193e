"""TensorFlow's process settings (nnvisual/runtime/tensorflow_setup.py): oneDNN asked for on
x86-64 unless the user said otherwise, and TensorFlow's C++ lines kept off the terminal, shown on
a stand-in module that writes to file descriptor 2 while it is imported, as TensorFlow's native
code does."""

import importlib
import os
import platform
import subprocess
import sys

import pytest

from nnvisual.runtime import tensorflow_setup
from nnvisual.testing.processes import NATIVE_LINE

# -- oneDNN ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("machine", "preset", "expected"), [
    ("x86_64", None, "1"), ("AMD64", None, "1"),  # Linux's and Windows' names for x86-64
    ("x86_64", "0", "0"),  # the user's choice stands
    ("aarch64", None, None), ("arm64", None, None),  # not measured there: TensorFlow decides
])
def test_enable_sets_the_variable_on_x86_64_only_and_never_overrides(monkeypatch, machine, preset, expected):
    monkeypatch.setattr(platform, "machine", lambda: machine)
    if preset is None:
        monkeypatch.delenv(tensorflow_setup.ONEDNN_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(tensorflow_setup.ONEDNN_VARIABLE, preset)
    tensorflow_setup.enable_onednn()
    assert os.environ.get(tensorflow_setup.ONEDNN_VARIABLE) == expected


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
def test_tensorflow_imported_after_nnvisual_runs_onednn():
    pytest.importorskip("tensorflow")
    probe = ("import nnvisual, tensorflow\n"
             "from tensorflow.python.util import _pywrap_util_port as port\n"
             "print(port.IsMklEnabled())")
    env = {key: value for key, value in os.environ.items() if key != tensorflow_setup.ONEDNN_VARIABLE}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.stdout.split()[-1] == "True", result.stderr[-2000:]


# -- log lines ---------------------------------------------------------------------------------

@pytest.fixture
def noisy_module(tmp_path, monkeypatch):
    """``make(name, fails)``: a module that writes a C++-style line to fd 2 when imported (and
    then raises, if ``fails``), to be imported under a :class:`tensorflow_setup.QuietImport`."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    names = []

    def make(name, fails=False):
        (tmp_path / f"{name}.py").write_text(
            "import os\nos.write(2, b'I0000 00:00:00.0 1 noisy.cc:1] a native notice\\n')\n"
            + ("raise ImportError('a broken build')\n" if fails else ""))
        sys.meta_path.insert(0, tensorflow_setup.QuietImport(name))
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)


def test_the_first_import_runs_with_file_descriptor_2_captured(noisy_module, capfd):
    module = importlib.import_module(noisy_module("noisy_ok"))
    assert capfd.readouterr().err == ""
    assert module.__spec__.loader is module.__loader__
    assert type(module.__loader__) is importlib.machinery.SourceFileLoader  # its own loader again
    assert not any(isinstance(finder, tensorflow_setup.QuietImport) for finder in sys.meta_path)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # file descriptor 2 is back


def test_a_failing_import_shows_what_it_wrote(noisy_module, capfd):
    with pytest.raises(ImportError, match="a broken build"):
        importlib.import_module(noisy_module("noisy_broken", fails=True))
    assert "a native notice" in capfd.readouterr().err


def test_silence_tensorflow_overrides_the_environment(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    tensorflow_setup.silence_tensorflow()
    tensorflow_setup.silence_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    finders = [f for f in sys.meta_path if isinstance(f, tensorflow_setup.QuietImport)]
    assert len(finders) == (0 if "tensorflow" in sys.modules else 1)


# -- the Python API ------------------------------------------------------------------------------

LOAD_LITE0 = ("import nnvisual as nv\n"
              "lite = nv.load_model('efficientnet-lite0')\n"
              "print(lite.image_size)")


@pytest.mark.parametrize("asked", [False, True], ids=["quiet", "NNVISUAL_TF_LOGS=1"])
def test_the_python_api_keeps_tensorflows_lines_off_stderr_unless_asked(isolated, asked):
    pytest.importorskip("tensorflow")
    env = {key: value for key, value in os.environ.items() if key != tensorflow_setup.LOGS_VARIABLE}
    env.update(TF_CPP_MIN_LOG_LEVEL="0", KERAS_BACKEND="tensorflow")  # a user's setting: every line
    if asked:
        env[tensorflow_setup.LOGS_VARIABLE] = "1"
    result = subprocess.run([sys.executable, "-c", LOAD_LITE0], cwd=isolated, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "(224, 224)"
    if asked:  # TensorFlow says something at start-up on every machine: a device, oneDNN, CUDA
        assert NATIVE_LINE.search(result.stderr), result.stderr
    else:
        assert not NATIVE_LINE.search(result.stderr), result.stderr


def test_import_nnvisual_silences_without_importing_tensorflow():
    code = ("import os, sys\nimport nnvisual\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], 'tensorflow' in sys.modules)")
    env = {key: value for key, value in os.environ.items() if key != tensorflow_setup.LOGS_VARIABLE}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == [tensorflow_setup.QUIET_LEVEL, "False"], result.stderr


def test_show_gives_the_level_back_unless_it_was_changed_since(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(tensorflow_setup, "_users_level", [])
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    tensorflow_setup.silence_tensorflow()
    tensorflow_setup.show_tensorflow_logs()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    tensorflow_setup.silence_tensorflow()
    tensorflow_setup.show_tensorflow_logs()
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ


# -- TensorFlow left unloaded on other backends ---------------------------------------------

KERAS_WITHOUT_TENSORFLOW = """
import sys
import keras
import nnvisual as nv
from nnvisual.graph.inference_model import for_inference
inputs = keras.Input((8, 8, 3))
x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
x = keras.layers.BatchNormalization(name="bn")(x)
model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x)))
loaded = nv.load_model(model)
for_inference(loaded.model)
print([layer.get_config()["name"] for layer in model.layers][1], "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_on_another_backend_never_imports_tensorflow_for_a_layers_config(backend):
    """Every ``get_config`` asks Keras' serializer whether TensorFlow is there, which imports it
    when installed (2.7 s); after ``load_model`` Keras is told it is absent."""
    pytest.importorskip("tensorflow")
    pytest.importorskip(backend)
    result = subprocess.run([sys.executable, "-c", KERAS_WITHOUT_TENSORFLOW],
                            env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["conv", "False"], result.stderr[-3000:]
