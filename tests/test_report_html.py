"""index.html (:mod:`nnvisual.report.html`): Jinja2 with autoescaping, classes, folded tables."""

import json
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

from nnvisual.report import collect, to_html
from nnvisual.report.html import _environment
from nnvisual.report.model import Figure, Report, RunReport, Table
from nnvisual.testing.run_files import read_manifest
from nnvisual.testing.run_folders import fake_run

EVIL = "<script>alert(1)</script>"
QUOTES = "&\"'<>"
IMG = "<img src=x onerror=alert(1)>"
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav",
             "a", "div", "ul", "li", "strong", "code", "table", "thead", "tbody", "tr", "th", "td",
             "span", "details", "summary", "figure", "img", "figcaption"}


class Page(HTMLParser):
    """The page as a browser parses it: each element's tag, attributes and text content."""

    def __init__(self, html):
        super().__init__()
        self.elements, self._open = [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "img"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open and self._open.pop()["tag"] != tag:
            pass

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def text(self, tag, **attrs):
        return [e["text"] for e in self.elements
                if e["tag"] == tag and all(e["attrs"].get(k) == v for k, v in attrs.items())]

    def attrs(self, tag):
        return [e["attrs"] for e in self.elements if e["tag"] == tag]


def assert_no_injected_markup(page):
    assert {e["tag"] for e in page.elements} <= PAGE_TAGS
    assert not [name for e in page.elements for name in e["attrs"] if name.startswith("on")]
    assert all(a["src"].startswith("data:image/png;base64,") for a in page.attrs("img"))


def evil_report():
    """Every string that reaches the page holds markup or the characters HTML escapes."""
    table = Table(title="T " + EVIL, header=("Name " + QUOTES, "Paper <x>", "Δ <y>"),
                  rows=((EVIL, "1.5 [<i>]", "-2"), ("n/a", "", "text")),
                  link="../runs/t%3C.csv", total_rows=2, note="note " + QUOTES)
    run = RunReport(path=Path("/runs") / QUOTES, manifest_link="../runs/x/manifest.json",
                    command="train", status="complete", argv="nnvisual train --name " + EVIL,
                    config={"note": EVIL}, started="2026-01-02T03:04:05", seconds=3.0,
                    device=QUOTES, backend=EVIL, versions={"keras": EVIL},
                    figures=(Figure(f"figures/{EVIL}.png", "x.png", b"\x89PNG"),), tables=(table,))
    odd = RunReport(path=Path("/runs/odd"), manifest_link="../runs/odd/manifest.json", command=IMG,
                    status=EVIL, problems=("bad " + EVIL,))
    return Report((run, odd))


def test_every_value_is_escaped():
    html = to_html(evil_report())
    assert "<script" not in html and "<img src=x" not in html and "<x>" not in html
    page = Page(html)
    assert_no_injected_markup(page)
    assert page.text("h3") == [QUOTES, "odd"]
    assert page.text("code") == ["/runs/odd", "nnvisual train --name " + EVIL, "note=" + EVIL]
    assert page.text("li") == [f"/runs/odd ({IMG}): bad {EVIL}", "bad " + EVIL]
    assert page.text("th")[6:] == ["Name " + QUOTES, "Paper <x>", "Δ <y>", "", "Value"]
    cells = page.text("td")
    assert cells[:6] == ["train", QUOTES, "complete", "2026-01-02 03:04:05", "3 s", "manifest.json"]
    assert cells[6:8] == [IMG, "odd"]
    assert cells[12:18] == [EVIL, "1.5 [<i>]", "-2", "n/a", "", "text"]
    assert cells[18:] == ["device", f"{QUOTES} ({QUOTES});  (odd)", "backend",
                          f"{EVIL} ({QUOTES});  (odd)", "keras", f"{EVIL} ({QUOTES}); — (odd)"]
    assert page.text("span") == ["complete", EVIL, "complete", EVIL]
    assert page.text("h2", id="section--img-src-x-onerror-alert-1-") == [IMG]
    assert IMG in page.text("a")
    assert page.text("p", **{"class": "caption"}) == ["T " + EVIL]
    assert page.text("p", **{"class": "note"})[1] == "note " + QUOTES + " CSV: t%3C.csv"
    assert page.text("figcaption") == [f"figures/{EVIL}.png"]
    assert page.attrs("img")[0]["alt"] == f"figures/{EVIL}.png"


def test_numbers_are_right_aligned_and_the_papers_columns_marked():
    page = Page(to_html(evil_report()))
    headers = [a.get("class") for a in page.attrs("th")][6:9]
    assert headers == ["", "paper", "diff"]
    classes = [a.get("class") for a in page.attrs("td")][12:18]
    assert classes == ["", "paper num", "diff num", "num", "paper", "diff"]


def test_a_cut_table_is_folded_with_its_row_count():
    table = Table("scores.csv", ("i",), (("1",), ("2",)), "../r/tables/scores.csv", total_rows=30)
    run = RunReport(Path("/r"), "../r/manifest.json", "odd", "complete", tables=(table,))
    page = Page(to_html(Report((run,))))
    assert page.text("summary", **{"class": "caption"}) == ["scores.csv (30 rows)"]
    assert "First 2 of 30 rows; CSV: scores.csv" in page.text("details")[0]
    assert page.attrs("a")[-1] == {"href": "../r/tables/scores.csv"}
    assert page.text("div", **{"class": "ok"}) == [
        "All 1 runs are complete and their outputs match their manifests."]


def test_templates_ship_and_escape_everything():
    assert _environment().autoescape is True
    templates = resources.files("nnvisual.report") / "templates"
    names = sorted(t.name for t in templates.iterdir())
    assert names == ["macros.html.j2", "report.css", "report.html.j2"]
    for name in names:
        text = (templates / name).read_text()
        assert not re.search(r"\|\s*safe|Markup|{%-?\s*autoescape", text), name


def test_a_hostile_run_folder_is_shown_as_text(cli, isolated):
    """A run folder name, argv, config value and CSV cell holding markup reach the page as text."""
    folder = isolated / f"run {QUOTES} <script>alert(1)"
    fake_run(folder, "deconv", {"layer": EVIL, "quotes": QUOTES},
             tables=[("cells.csv", ("cell", "quotes " + QUOTES), [(EVIL, QUOTES)])],
             figures=["a.png"])
    manifest = read_manifest(folder)
    manifest["argv"] = ["nnvisual", "deconv", "--note", EVIL]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert cli("report", folder, "--out", "rep").exit_code == 0
    html = (isolated / "rep" / "index.html").read_text()
    assert "<script" not in html and QUOTES not in html
    page = Page(html)
    assert_no_injected_markup(page)
    assert page.text("h3") == [folder.name]
    assert page.text("code") == [f"nnvisual deconv --note {EVIL}", f"layer={EVIL}, quotes={QUOTES}"]
    assert page.text("th")[6:8] == ["cell", "quotes " + QUOTES]
    assert page.text("td")[6:8] == [EVIL, QUOTES]
    assert page.text("a", href="#" + page.attrs("h3")[0]["id"]) == [folder.name]
    assert to_html(collect([folder], isolated / "rep")) == html
