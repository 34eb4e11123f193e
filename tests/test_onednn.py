"""nnvisual asks TensorFlow for oneDNN on x86-64 (nnvisual/runtime/onednn.py), unless told otherwise."""

import os
import platform
import subprocess
import sys

import pytest

from nnvisual.runtime import onednn


@pytest.mark.parametrize(("machine", "preset", "expected"), [
    ("x86_64", None, "1"), ("AMD64", None, "1"),  # Linux's and Windows' names for x86-64
    ("x86_64", "0", "0"),  # the user's choice stands
    ("aarch64", None, None), ("arm64", None, None),  # not measured there: TensorFlow decides
])
def test_enable_sets_the_variable_on_x86_64_only_and_never_overrides(monkeypatch, machine, preset, expected):
    monkeypatch.setattr(platform, "machine", lambda: machine)
    if preset is None:
        monkeypatch.delenv(onednn.VARIABLE, raising=False)
    else:
        monkeypatch.setenv(onednn.VARIABLE, preset)
    onednn.enable()
    assert os.environ.get(onednn.VARIABLE) == expected


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only")
def test_tensorflow_imported_after_nnvisual_runs_onednn():
    pytest.importorskip("tensorflow")
    probe = ("import nnvisual, tensorflow\n"
             "from tensorflow.python.util import _pywrap_util_port as port\n"
             "print(port.IsMklEnabled())")
    env = {key: value for key, value in os.environ.items() if key != onednn.VARIABLE}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.stdout.split()[-1] == "True", result.stderr[-2000:]
