"""TensorFlow's C++ lines kept off the terminal (nnvisual.runtime.native_logs), on a stand-in module that
writes to file descriptor 2 while it is imported, as TensorFlow's native code does."""

import importlib
import os
import sys

import pytest

from nnvisual.runtime import native_logs


@pytest.fixture
def noisy_module(tmp_path, monkeypatch):
    """``make(name, fails)``: a module that writes a C++-style line to fd 2 when imported (and
    then raises, if ``fails``), to be imported under a :class:`native_logs.QuietImport`."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    names = []

    def make(name, fails=False):
        (tmp_path / f"{name}.py").write_text(
            "import os\nos.write(2, b'I0000 00:00:00.0 1 noisy.cc:1] a native notice\\n')\n"
            + ("raise ImportError('a broken build')\n" if fails else ""))
        sys.meta_path.insert(0, native_logs.QuietImport(name))
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
    assert not any(isinstance(finder, native_logs.QuietImport) for finder in sys.meta_path)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # file descriptor 2 is back


def test_a_failing_import_shows_what_it_wrote(noisy_module, capfd):
    with pytest.raises(ImportError, match="a broken build"):
        importlib.import_module(noisy_module("noisy_broken", fails=True))
    assert "a native notice" in capfd.readouterr().err


def test_silence_tensorflow_overrides_the_environment(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    native_logs.silence_tensorflow()
    native_logs.silence_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    finders = [f for f in sys.meta_path if isinstance(f, native_logs.QuietImport)]
    assert len(finders) == (0 if "tensorflow" in sys.modules else 1)
