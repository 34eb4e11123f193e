"""The study's report: run folders collected into one model, rendered as Markdown or HTML.

Modules:
    model       the Report, RunReport, Table and Figure the renderings read
    collect     run folders (manifest.json, figures/*.png, tables/*.csv) read into a Report
    comparison  CSV tables formatted; Tables 1-3 beside the paper's numbers
    table3      Table 3 three ways (published, the study's scoring, consistent) and its artifact
    summary     what both renderings show: steps, wall times, machine and versions
    markdown    report.md
    html        index.html, from templates/ by Jinja2 with autoescaping, self-contained

Nothing here writes files; ``nnvisual report`` (:mod:`nnvisual.commands.report`) does.
"""

from nnvisual.report.collect import check_run_folders, collect
from nnvisual.report.html import to_html
from nnvisual.report.markdown import to_markdown
from nnvisual.report.summary import steps_table

__all__ = ["check_run_folders", "collect", "steps_table", "to_html", "to_markdown"]
