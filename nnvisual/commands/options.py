"""Options shared by several commands, the config-resolution step every command starts with,
the progress bar, and the interruptible block every command runs its work in."""

import contextlib
import dataclasses
import functools
from pathlib import Path

import click

from nnvisual.config import load_config
from nnvisual.config.fields import described, field_named, flag

config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    help="YAML config (e.g. configs/paper.yaml); flags given here override it.")
data_option = click.option(
    "--data", default=None, metavar="cifar10|DIR",
    help="Dataset: cifar10 (Keras download) or an image folder DIR/{train,test}/<class>/; "
         "default $NNVISUAL_DATA, else cifar10.")
out_option = click.option("--out", type=click.Path(path_type=Path), default=None,
                          help="Run folder (default results/<command>-<name>-<time>/).")
unsafe_option = click.option(
    "--unsafe", is_flag=True,
    help="Allow a .keras model to run Python code when loaded (Lambda layers); only for trusted files.")
force_option = click.option("--force", is_flag=True,
                            help="Replace --out if it is an earlier run of the same command.")

_TYPES = {"int": int, "float": float, "str": str}


class SettingOption(click.Option):
    """A config field as a command-line option, its help written from the field when shown
    (:func:`nnvisual.config.fields.described`), so a table that grew is listed as it is now."""

    def __init__(self, *args, field: dataclasses.Field, **kwargs):
        super().__init__(*args, **kwargs)
        self.field = field

    def get_help_record(self, ctx):
        self.help = described(self.field)
        return super().get_help_record(ctx)


class _LiveChoice(click.Choice):
    """``click.Choice`` over a list read when a value is checked or help is shown."""

    def __init__(self, read_choices):
        super().__init__(())
        self._read = read_choices

    @property
    def choices(self):
        return tuple(self._read())

    @choices.setter
    def choices(self, value):
        pass


def setting_option(cls, name: str):
    """The option of the config field ``name`` of ``cls``: flag, type, choices, metavar and help
    (with the default) read from the field; its value None when not given (the config's
    default then applies)."""
    field = field_named(cls, name)
    meta, annotation = field.metadata, str(field.type)
    kwargs = {"default": None, "cls": SettingOption, "field": field}
    declarations = [flag(field)]
    if annotation == "bool":
        if "/" not in declarations[0]:
            kwargs["is_flag"] = True
    else:
        base = annotation.split(" |")[0]
        if meta.get("choices"):
            read = meta["choices"]
            kwargs["type"] = _LiveChoice(read) if callable(read) else click.Choice(read)
        elif base in _TYPES:
            kwargs["type"] = _TYPES[base]
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
    return click.option(*declarations, name, **kwargs)


def setting_options(cls, *names: str):
    """A decorator adding the options of ``cls``'s fields ``names``, in that order."""
    def decorate(command):
        for name in reversed(names):
            command = setting_option(cls, name)(command)
        return command

    return decorate


@functools.cache
def _fields() -> dict[str, dataclasses.Field]:
    """Every command's config fields by name (a name means one flag in every command)."""
    from nnvisual.config.loading import SECTIONS

    return {field.name: field for cls in SECTIONS.values() for field in dataclasses.fields(cls)}


def flag_words(name: str, value=None) -> str:
    """A setting as the command line names it, from its config field's flag (the words
    :func:`nnvisual.errors.named` says while a command runs): ``--image-size``, ``--method
    gradient``, ``--class 3``, ``--top9``, ``--no-augment``; ``--unsafe`` for an option that is
    no config field."""
    field = _fields().get(name)
    on, _, off = (flag(field) if field else f"--{name.replace('_', '-')}").partition("/")
    if isinstance(value, bool):
        return off if off and not value else on
    if value is None:
        return on
    return f"{on} {','.join(map(str, value)) if isinstance(value, (list, tuple)) else value}"


def resolve_config(cls, config_path, **flags):
    """The command's config: defaults < the file's section < the flags given (not None)."""
    return load_config(cls, config_path, flags)


@contextlib.contextmanager
def progress_bar(label: str):
    """A progress callback ``(done, total, what)`` drawing a bar on stderr when it is a
    terminal (logs and pipes get no bar)."""
    stderr = click.get_text_stream("stderr")
    if not stderr.isatty():
        yield lambda done, total, what: None
        return
    with click.progressbar(length=1, label=label, file=stderr, show_pos=True,
                           item_show_func=lambda what: what) as bar:
        def report(done, total, what):
            bar.length = total
            bar.update(done - bar.pos, what)

        yield report


@contextlib.contextmanager
def interruptible(run, resume: str | None = None):
    """Run the block as ``runs.running(run)``; SIGINT or SIGTERM stop it at once, leave ``run``
    marked interrupted (every file in it whole) and end the command with exit status 130. A scan
    names its command as ``resume``: its run is kept on a failure too, and continued by
    ``nnvisual <resume> --resume RUN``; any other run is done again with ``--out RUN --force``."""
    from nnvisual import runs
    from nnvisual.runtime.interrupts import interrupt_on_signals

    try:
        with interrupt_on_signals(), runs.running(run, keep_on_failure=resume is not None):
            yield run
    except KeyboardInterrupt as exc:
        then = (f"continue with: nnvisual {resume} --resume {run.path}" if resume is not None
                else f"to redo it, run the command again with --out {run.path} --force")
        click.echo(f"Interrupted{f' by {exc}' if str(exc) else ''}: {run.path} is marked interrupted; "
                   f"{then}", err=True)
        raise click.exceptions.Exit(130) from None
