"""``examples/quickstart.ipynb`` runs from top to bottom on the default backend (so it cannot
rot), with its figures shown inline and its printed results what its calls ask for; its outputs
are not committed."""

import ast
import base64
import json
from pathlib import Path

import nbclient
import nbformat
import pytest

from nnvisual.testing.run_files import read_csv, read_manifest

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
IMAGENET_CLASSES = ROOT / "nnvisual" / "models" / "imagenet_classes.json"
LAYERS = ["block2a_expand_relu6", "block4a_expand_relu6", "head_relu6"]  # as the notebook asks


def printed(cell) -> str:
    """What a code cell printed."""
    return "".join(output["text"] for output in cell.outputs if output["output_type"] == "stream")


def value(cell) -> str:
    """The text of a code cell's value (its last expression)."""
    (result,) = [output for output in cell.outputs if output["output_type"] == "execute_result"]
    return result["data"]["text/plain"]


def pngs(cell) -> list[bytes]:
    return [base64.b64decode(output["data"]["image/png"]) for output in cell.outputs
            if "image/png" in output.get("data", {})]


@pytest.mark.slow
def test_the_quickstart_notebook_runs_and_shows_its_figures(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not any(cell.outputs or cell.execution_count for cell in code)  # committed stripped
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    load, project, channels, maximize, attribute, save = code
    # Lite0 at its 224x224 input, scikit-learn's china.jpg as it ships (427x640 RGB)
    assert value(load) == "('efficientnet-lite0', (224, 224), (427, 640, 3))"
    # one figure each: projections, synthesized images, attribution maps; nothing else draws
    assert [len(pngs(cell)) for cell in code] == [0, 1, 0, 1, 1, 0]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for cell in code for png in pngs(cell))

    # the saved run folder: what the listing shows, and a deconv run of the notebook's settings
    folder = tmp_path / "quickstart-deconv"
    assert ast.literal_eval(value(save)) == sorted(path.name for path in folder.iterdir())
    manifest = read_manifest(folder)
    assert (manifest["command"], manifest["status"]) == ("deconv", "complete")
    assert (manifest["config"]["layers"], manifest["config"]["top_k"]) == (LAYERS, 4)
    # the printed table: the first 6 columns of the saved channels table's first 4 rows, which are
    # the 4 channels (top_k) of the first layer
    table = [line.split("\t") for line in printed(channels).splitlines()]
    saved = read_csv(folder / "tables" / "channels.csv")
    assert table[0] == list(saved[0])[:6] and table[0][:3] == ["layer", "rank", "channel"]
    assert len(table) == 5 and {row[0] for row in table[1:]} == {LAYERS[0]}
    assert [row[:3] for row in table[1:]] == [[r["layer"], r["rank"], r["channel"]] for r in saved[:4]]
    # the photo's top-1 class, an ImageNet class name, and its probability
    name, probability = printed(attribute).strip().rsplit(" ", 1)
    assert name in json.loads(IMAGENET_CLASSES.read_text()) and 0 < float(probability) <= 1
