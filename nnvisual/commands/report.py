"""``nnvisual report``: run folders in one report, the study's numbers beside ours."""

import os
from pathlib import Path

import click

from nnvisual.commands import options
from nnvisual.errors import UserError


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("results/report"),
              show_default=True, help="Report folder.")
@options.force_option
def command(run_dirs, out, force):
    """Collect run folders into report.md and a self-contained index.html.

    \b
    Example:
      nnvisual report results/paper/*/ --out results/paper/report

    Every figure (embedded in index.html, so the page works alone and offline) and every table
    of each run, Tables 1-3 beside the paper's numbers with the differences, the machine and
    versions, the wall time and status of each step (incomplete runs are flagged) and links to
    each run's manifest.json. tables/runs.csv lists the runs with their manifest links.
    """
    from nnvisual import report, runs

    run_dirs = [d for d in run_dirs if os.path.abspath(d) != os.path.abspath(out)]  # results/*/
    if not run_dirs:
        raise UserError(f"no run folder to report: the only one given is the report folder {out}")
    report.check_run_folders(run_dirs)  # before the progress bar: an error is one line
    stderr = click.get_text_stream("stderr")
    with click.progressbar(length=len({os.path.abspath(d) for d in run_dirs}),
                           label="reading runs", file=stderr, hidden=not stderr.isatty()) as bar:
        collected = report.collect(run_dirs, out, bar.update)
    run = runs.create_run("report", "report", {"runs": [str(d) for d in run_dirs]}, out, force,
                           record_device=False)
    with runs.running(run):
        run.write_text("report.md", report.to_markdown(collected))
        run.write_text("index.html", report.to_html(collected))
        run.write_csv("tables/runs.csv", *report.steps_table(collected))
        run.manifest["flagged_runs"] = [str(r.path) for r in collected.flagged]
    click.echo(f"wrote {run.path / 'index.html'} and report.md ({len(collected.runs)} runs, "
               f"{len(collected.flagged)} flagged)")
