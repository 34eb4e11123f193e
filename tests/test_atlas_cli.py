"""``nnvisual atlas`` end to end on a tiny CNN: every page's links and images resolve and every
channel has its page; Chromium renders the pages and the search finds a channel; a sharded atlas
merged, and an atlas interrupted and resumed, are the uninterrupted atlas byte for byte."""

import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnvisual.runs import scan_checkpoint
from nnvisual.steps import atlas as step
from nnvisual.testing.images import write_image_folder
from nnvisual.testing.models import small_cnn
from nnvisual.testing.run_files import read_manifest, run_files

CHROMIUM = shutil.which("chromium")
CHANNELS = {"c1": 4, "c2": 6}


def atlas_args(model, data, *extra):
    return ("atlas", "--model", model, "--data", data, "--layers", "c1,c2", "--steps", "4",
            "--block", "3", "--scan-images", "30", "--examples", "4", "--transforms", "pad=2,jitter=2",
            *extra)


def invoke(*args):
    from nnvisual.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas-cli")
    model = root / "cnn.keras"
    small_cnn(size=32).save(model)
    return model, write_image_folder(root / "data", per_class=(1, 10)), root


@pytest.fixture(scope="module")
def whole(inputs):
    """The uninterrupted, unsharded atlas."""
    model, data, root = inputs
    result = invoke(*atlas_args(model, data, "--out", root / "whole"))
    assert result.exit_code == 0, result.output
    return root / "whole"


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name in ("href", "src")]


def test_every_link_and_image_of_every_page_resolves_and_every_channel_has_its_page(whole):
    pages = sorted(whole.rglob("*.html"))
    for page in pages:
        parser = Links()
        parser.feed(page.read_text())
        assert parser.found or page.name == "classes.html", page
        for link in parser.found:
            assert not re.match(r"[a-z]+:", link), (page, link)  # nothing fetched from anywhere
            assert (page.parent / re.split(r"[?#]", link)[0]).is_file(), (page, link)
    names = {str(page.relative_to(whole)) for page in pages}
    assert {f"{layer}/{channel}.html" for layer, count in CHANNELS.items()
            for channel in range(count)} | {"index.html", "c1/index.html", "c2/index.html",
                                             "classes.html"} == names
    classes = (whole / "classes.html").read_text()
    assert all(f'<img src="classes/{k}.png"' in classes for k in range(3))  # every class of 3
    index = (whole / "index.html").read_text()
    for layer, count in CHANNELS.items():
        assert f'<a href="{layer}/index.html">{layer}</a>' in index
        assert all(f"{layer}/{channel}.html" in index for channel in range(count))  # the search index
    excitation = (whole / "tables" / "excitation.csv").read_text().splitlines()
    assert excitation[0] == "layer,channels,excited,fraction,dead,fraction_alive" and len(excitation) == 3


def test_the_thumbnails_are_small_pngs(whole):
    for png in whole.glob("c*/*/*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 64_000, png


def screenshot(url, path):
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={path}",
                    "--window-size=1000,800", "--hide-scrollbars", url], check=True, capture_output=True,
                   timeout=60)
    import cv2

    return cv2.imread(str(path))


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
def test_chromium_renders_the_pages_and_the_search_finds_a_channel(whole, tmp_path):
    for page in ("index.html", "c2/3.html", "c1/index.html"):
        pixels = screenshot((whole / page).as_uri(), tmp_path / "page.png")
        assert pixels is not None and pixels.std() > 10, page  # not blank
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          (whole / "index.html").as_uri() + "?q=c2/3"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    hits = re.findall(r'<li class="hit"><a href="([^"]+)">', dom)
    assert hits == ["c2/3.html"], dom[-2000:]


def test_a_sharded_atlas_merged_is_the_unsharded_atlas_byte_for_byte(inputs, whole):
    model, data, root = inputs
    for shard in ("0/2", "1/2"):
        result = invoke(*atlas_args(model, data, "--shard", shard, "--out", root / f"shard{shard[0]}"))
        assert result.exit_code == 0, result.output
    with np.load(root / "shard0" / "atlas.npz") as arrays:
        assert arrays["c2:channels"].tolist() == [0, 1, 2]  # 2 blocks of 3: the first shard has one
    result = invoke("merge", root / "shard0", root / "shard1", "--out", root / "merged")
    assert result.exit_code == 0, result.output
    merged, reference = run_files(root / "merged"), run_files(whole)
    assert sorted(merged) == sorted(reference)
    with np.load(root / "shard1" / "atlas.npz") as arrays:
        assert "class_visualizations" not in arrays  # the first shard renders the classes
    for name in ("atlas.npz", "tables/channels.csv", "tables/examples.csv", "tables/excitation.csv",
                 "classes.html", "classes/2.png"):
        assert merged[name] == reference[name], name
    assert [name for name in reference if merged[name] != reference[name]] == []


def test_an_interrupted_atlas_resumed_is_the_uninterrupted_atlas(inputs, whole, monkeypatch):
    model, data, root = inputs
    monkeypatch.setattr(scan_checkpoint, "BUDGET", math.inf)  # commit after every batch and block
    original, calls = step.render_block, []

    def interrupted(*args, **kwargs):
        calls.append(None)
        if len(calls) == 3:  # after the scan and two blocks
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(step, "render_block", interrupted)
    stopped = invoke(*atlas_args(model, data, "--out", root / "stopped"))
    assert stopped.exit_code == 130 and read_manifest(root / "stopped")["status"] == "interrupted"
    monkeypatch.setattr(step, "render_block", original)
    resumed = invoke("atlas", "--resume", root / "stopped")
    assert resumed.exit_code == 0 and "resuming" in resumed.output, resumed.output
    assert run_files(root / "stopped") == run_files(whole)
    assert read_manifest(root / "stopped")["status"] == "complete"


def test_the_run_records_what_merge_reads(whole):
    manifest = read_manifest(whole)
    assert manifest["layers"] == ["c1", "c2"] and manifest["shapes"] == {"c1": [32, 32, 4], "c2": [16, 16, 6]}
    assert Path(manifest["data"]).name == "data"


@pytest.mark.slow  # a second whole atlas, with another scan batch size
def test_an_atlas_interrupted_in_its_scan_resumed_is_the_uninterrupted_atlas(inputs, monkeypatch):
    from nnvisual.steps import deconv as deconv_step

    model, data, root = inputs
    monkeypatch.setattr(scan_checkpoint, "BUDGET", math.inf)
    monkeypatch.setattr(deconv_step, "SCAN_BATCH", 8)  # 30 images: 4 batches
    assert invoke(*atlas_args(model, data, "--out", root / "whole8")).exit_code == 0
    original = step.scan_layers

    def interrupted(*args, **kwargs):
        for done, found in enumerate(original(*args, **kwargs)):
            if done == 2:  # two batches committed
                raise KeyboardInterrupt
            yield found

    monkeypatch.setattr(step, "scan_layers", interrupted)
    assert invoke(*atlas_args(model, data, "--out", root / "stopped8")).exit_code == 130
    monkeypatch.setattr(step, "scan_layers", original)
    resumed = invoke("atlas", "--resume", root / "stopped8")
    assert resumed.exit_code == 0 and "resuming" in resumed.output and "after 2 batches" in resumed.output
    assert run_files(root / "stopped8") == run_files(root / "whole8")
