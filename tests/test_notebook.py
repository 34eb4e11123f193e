"""``examples/quickstart.ipynb`` runs from top to bottom on the default backend (so it cannot
rot), with its figures shown inline; its outputs are not committed."""

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK = Path(__file__).parents[1] / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_the_quickstart_notebook_runs_and_shows_its_figures(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(cell.outputs or cell.execution_count for cell in code)  # committed stripped
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    figures = [output for cell in code for output in cell.outputs
               if "image/png" in output.get("data", {})]
    assert len(figures) == 3  # projections, synthesized images, attribution maps
    assert (tmp_path / "quickstart-deconv" / "manifest.json").is_file()
