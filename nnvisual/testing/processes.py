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


def signal_when(args, cwd: Path, ready, signum, delay: float = 0.0, timeout: float = 240,
                watched: str = "manifest.json", poll: float = 0.02):
    """Run ``python -m nnvisual *args`` in ``cwd`` (its run folder ``cwd/run``), send ``signum``
    ``delay`` seconds after ``ready(the JSON of the run's file watched)`` first holds (the
    manifest, or e.g. a scan's ``checkpoint/state.json``; read every ``poll`` seconds), and return
    (exit status, output)."""
    env = dict(os.environ, NNVISUAL_CACHE=str(cwd / "cache"))
    process = subprocess.Popen([sys.executable, "-m", "nnvisual", *map(str, args)], cwd=cwd, env=env,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watched_path = cwd / "run" / watched
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            watched_now = json.loads(watched_path.read_text())
        except FileNotFoundError:  # not yet written, or already removed
            watched_now = None
        if watched_now is not None and ready(watched_now):
            time.sleep(delay)
            process.send_signal(signum)
            break
        time.sleep(poll)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # never leave the child running
        process.kill()
        output, _ = process.communicate()
        output += f"\n[killed after {timeout} s]"
    return process.returncode, output
