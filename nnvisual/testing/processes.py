"""A real ``nnvisual`` process, signalled mid-run: what an interrupted or killed command does;
and the pattern of TensorFlow's C++ log lines, which a process must keep off its stderr."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# TensorFlow's C++ lines (absl's "I0000 00:00:..." prefix, its pre-initialization notice, the
# CUDA probe, oneDNN and CPU-feature notices): none may reach a user's terminal by default
NATIVE_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|cuInit|cudart|oneDNN|"
                         r"cpu_feature_guard", re.MULTILINE)


def signal_when(args, cwd: Path, ready, signum, delay: float = 0.0, timeout: float = 240):
    """Run ``python -m nnvisual *args`` in ``cwd`` (its run folder ``cwd/run``), send ``signum``
    ``delay`` seconds after ``ready(manifest)`` first holds, and return (exit status, output)."""
    env = dict(os.environ, NNVISUAL_CACHE=str(cwd / "cache"))
    process = subprocess.Popen([sys.executable, "-m", "nnvisual", *map(str, args)], cwd=cwd, env=env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    manifest_path = cwd / "run" / "manifest.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if manifest_path.exists() and ready(json.loads(manifest_path.read_text())):
            time.sleep(delay)
            process.send_signal(signum)
            break
        time.sleep(0.02)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # never leave the child running
        process.kill()
        output, _ = process.communicate()
        output += f"\n[killed after {timeout} s]"
    return process.returncode, output
