"""Running a benchmark of scripts/ in its own process, and the suite's CSV (scripts/bench.py).

Each benchmark runs in a spawned child process, so that its peak resident memory is its own; the
rows of all of them go to one CSV with the machine and the packages' versions.
"""

import csv
import importlib.metadata
import multiprocessing
import os
import platform
import resource
import traceback
from collections.abc import Callable
from pathlib import Path

PACKAGES = ("tensorflow", "keras", "numpy", "opencv-python-headless")
COLUMNS = ("benchmark", "variant", "metric", "value", "ratio_to_baseline", "peak_rss_mb", "machine",
           "versions")


def machine_description() -> str:
    """CPU model and core count, e.g. 'Intel(R) Xeon(R) Processor, 2 cores'."""
    model = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), model)
    return f"{model}, {os.cpu_count()} cores"


def versions() -> str:
    """'package version' of each of :data:`PACKAGES` that is installed, separated by '; '."""
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return "; ".join(found)


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM on Linux, which starts afresh when a spawned
    child executes Python (``ru_maxrss`` would still count the copy of the parent it was forked
    from); ``ru_maxrss`` elsewhere."""
    if os.path.exists("/proc/self/status"):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(run: Callable, sizes: dict, connection) -> None:
    """In the child process: run one benchmark, send back (rows, peak RSS in MB) or an error."""
    from nnvisual.errors import UserError

    try:
        rows = run(**sizes)
        connection.send((rows, peak_rss_mb()))
    except UserError as error:  # e.g. no CIFAR-10 copy: one line is enough
        connection.send(str(error))
    except Exception:
        connection.send(traceback.format_exc())


def run_in_child(run: Callable, sizes: dict):
    """(rows, peak RSS MB) of ``run(**sizes)`` in a fresh spawned process, or the error it
    raised as text. ``run`` is a module-level function (a benchmark script's ``run``): the child
    imports its module by name."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(run, sizes, sender))
    process.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:  # it died without a word (killed, out of memory)
        result = None
    process.join()
    return result if result is not None else f"the benchmark process died (exit status {process.exitcode})"


def write_csv(path: Path, rows, rss: dict, machine: str, versions_text: str) -> None:
    """All rows, written to a temporary name first and then renamed (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for row in rows:
            ratio = "" if row.ratio_to_baseline is None else f"{row.ratio_to_baseline:.6g}"
            writer.writerow([row.benchmark, row.variant, row.metric, f"{row.value:.6g}", ratio,
                             f"{rss[row.benchmark]:.0f}", machine, versions_text])
    os.replace(temporary, path)
