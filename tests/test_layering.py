"""The package's layering holds by itself: compute modules never reach the command layer.

Steps and methods return values; only the Python API (``api/``), ``commands/`` (with ``runs``
for run folders and ``plots`` for figures) and the Keras callbacks (``callbacks/``: user-facing
objects that write their figures and TensorBoard summaries by design, as a command does, through
``callbacks/writer.py``) turn them into files, and only ``commands/`` into terminal output. The
API sits below the command line: it never imports it, nor click. The tests' helpers
(``testing/``) sit beside the library: no library module imports them, and they import the
command layer only where a helper must (a run folder written by ``runs``' own writer). Every
import in a module, at the top or inside a function, is read from its source.
"""

import ast
from pathlib import Path

import pytest

import nnvisual

PACKAGE = Path(nnvisual.__file__).parent
COMMAND_LAYER = ("nnvisual.runs", "nnvisual.plots", "nnvisual.commands", "nnvisual.cli",
                 "nnvisual.report", "nnvisual.api", "click")
COMMAND_LINE = ("nnvisual.commands", "nnvisual.cli", "click")
READERS = ("nnvisual.runs.reading",)  # reading another command's run folder is not writing one
COMPUTE = sorted(
    path for path in PACKAGE.rglob("*.py")
    if path.relative_to(PACKAGE).parts[0] not in ("api", "callbacks", "commands", "plots", "report", "runs",
                                                  "testing", "__init__.py")
    and path.name not in ("cli.py", "__main__.py"))
API = sorted((PACKAGE / "api").rglob("*.py"))
CALLBACKS = sorted((PACKAGE / "callbacks").rglob("*.py"))
TESTING = sorted((PACKAGE / "testing").rglob("*.py"))
LIBRARY = sorted(path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "testing")
# the command-layer modules a test helper may import: made-up run folders, written as the commands do
TESTING_MAY_IMPORT = {"testing/run_folders.py": ("nnvisual.runs",)}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts as ``a.b`` and ``a.b.c``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def within(module: str, packages) -> bool:
    """Whether ``module`` is one of ``packages`` or inside one."""
    return any(module == package or module.startswith(package + ".") for package in packages)


def reaches_command_layer(module: str) -> bool:
    return not within(module, READERS) and within(module, COMMAND_LAYER)


def test_the_compute_modules_are_found():
    found = {str(path.relative_to(PACKAGE)) for path in COMPUTE}
    assert {"deconv/path.py", "steps/train.py", "steps/score_bow.py", "optvis/render.py",
            "descriptors/extract.py", "data/datasets.py", "models/loading.py"} <= found
    assert "__init__.py" not in found  # the package's front door re-exports the API
    assert {"api/__init__.py", "api/_project.py"} <= {str(p.relative_to(PACKAGE)) for p in API}
    assert {"callbacks/writer.py", "callbacks/attributions.py"} <= {
        str(p.relative_to(PACKAGE)) for p in CALLBACKS}
    assert {"testing/__init__.py", "testing/run_files.py"} <= {str(p.relative_to(PACKAGE)) for p in TESTING}
    assert not set(TESTING) & set(LIBRARY) and "cli.py" in {str(p.relative_to(PACKAGE)) for p in LIBRARY}


@pytest.mark.parametrize("path", COMPUTE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_compute_module_does_not_import_the_command_layer(path):
    offending = sorted(m for m in imported_modules(path) if reaches_command_layer(m))
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


@pytest.mark.parametrize("path", API, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_api_does_not_import_the_command_line(path):
    offending = sorted(m for m in imported_modules(path) if within(m, COMMAND_LINE))
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


@pytest.mark.parametrize("path", CALLBACKS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_callbacks_reach_no_run_folder_nor_the_command_line(path):
    """A callback writes its own folder (``callbacks/writer.py``), never a run folder: the
    ``train`` command records what they write in its run."""
    offending = sorted(m for m in imported_modules(path)
                       if within(m, (*COMMAND_LINE, "nnvisual.runs", "nnvisual.report")))
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_library_does_not_import_the_test_helpers(path):
    offending = sorted(m for m in imported_modules(path) if within(m, ("nnvisual.testing",)))
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


@pytest.mark.parametrize("path", TESTING, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_test_helpers_do_not_import_the_command_layer(path):
    allowed = TESTING_MAY_IMPORT.get(str(path.relative_to(PACKAGE)), ())
    offending = sorted(m for m in imported_modules(path)
                       if reaches_command_layer(m) and not within(m, allowed))
    assert not offending, f"{path.relative_to(PACKAGE)} imports {offending}"


def test_the_check_sees_a_function_level_import(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from nnvisual.runs import create_run\n    import click\n")
    assert {m for m in imported_modules(module) if reaches_command_layer(m)} == {
        "nnvisual.runs", "nnvisual.runs.create_run", "click"}


def test_the_check_sees_an_import_of_the_test_helpers(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("from nnvisual import testing\n\ndef f():\n    import nnvisual.testing.models\n")
    assert {m for m in imported_modules(module) if within(m, ("nnvisual.testing",))} == {
        "nnvisual.testing", "nnvisual.testing.models"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycle_between_modules():
    """No two modules import each other, directly or through others (imports inside functions
    count: they hide a cycle, they do not remove it)."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in imported_modules(path) if m in paths and m != name}
             for name, path in paths.items()}
    for package in [name for name in graph if paths[name].name == "__init__.py"]:
        graph[package] = set()  # a package's __init__ re-exports its modules: not a cycle
    state, stack = {}, []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(
                    stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
