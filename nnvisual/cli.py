"""The ``nnvisual`` command line: a Click group whose commands live in ``nnvisual.commands``.

Commands are imported only when invoked, so ``nnvisual --help`` stays fast and TensorFlow is
loaded only by the commands that need it, quietly unless ``--verbose`` or ``NNVISUAL_TF_LOGS=1``
(:mod:`nnvisual.runtime.tensorflow_setup`). A :class:`~nnvisual.errors.UserError` anywhere, or a bad flag or
value, ends in one line on stderr and exit status 2; Ctrl-C in exit status 130. While a command
runs, messages name each setting by its flag (:func:`nnvisual.errors.command_line_words`).
"""

import importlib
import logging

import click

from nnvisual import __version__
from nnvisual.errors import UserError, command_line_words
from nnvisual.runtime import tensorflow_setup

COMMANDS = {
    "train": "nnvisual.commands.train",
    "deconv": "nnvisual.commands.deconv",
    "maximize": "nnvisual.commands.maximize",
    "score-bow": "nnvisual.commands.score_bow",
    "report": "nnvisual.commands.report",
    "attribute": "nnvisual.commands.attribute",
    "sanity": "nnvisual.commands.sanity",
    "evaluate": "nnvisual.commands.evaluate",
    "merge": "nnvisual.commands.merge",
    "atlas": "nnvisual.commands.atlas",
}


class _OneLineWarnings(logging.Handler):
    """The library's warnings (e.g. a damaged cache being rebuilt) as ``warning: ...`` lines."""

    def emit(self, record):
        click.echo(f"warning: {record.getMessage()}", err=True)


_logger = logging.getLogger("nnvisual")
_logger.addHandler(_OneLineWarnings(logging.WARNING))


class UsageProblem(click.ClickException):
    exit_code = 2


class LazyGroup(click.Group):
    """A group that imports a command's module on first use and turns UserError into one line."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(COMMANDS[name]).command

    def invoke(self, ctx):
        from nnvisual.commands.options import flag_words

        if ctx.params["verbose"] or tensorflow_setup.logs_wanted():  # before any command module
            tensorflow_setup.show_tensorflow_logs()                  # is imported
        else:
            tensorflow_setup.silence_tensorflow()
        try:
            with command_line_words(flag_words):  # messages name settings by their flags
                return super().invoke(ctx)
        except UserError as exc:
            raise UsageProblem(str(exc)) from None
        except click.UsageError as exc:  # a bad flag or value: one line, not Click's usage block
            where = exc.ctx.command_path if exc.ctx else "nnvisual"
            raise UsageProblem(f"{exc.format_message()} (see: {where} --help)") from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nnvisual")
@click.option("--verbose", is_flag=True,
              help="Show TensorFlow's C++ log lines (start-up notices, CUDA probing), hidden by default "
                   "(or NNVISUAL_TF_LOGS=1).")
def main(verbose):
    """See what a convolutional network has learned (Reda & Xu 2019, reproduced).

    Every command writes a run folder (default results/<command>-<name>-<time>/) with
    manifest.json, config.yaml, figures/*.png and tables/*.csv.
    """
