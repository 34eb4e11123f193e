"""Which class a user means: ``--class 284``, ``--class "Siamese cat"`` or ``--class cat``.

A model's class names are its training classes (a ``train`` run records them), then placeholders
``class_<i>`` for outputs that were never trained on a named class. Those placeholders of a
1000-way head take ImageNet's names, as in the study (docs/study.md, "Class reconstruction": a
CIFAR network with a 1000-way head, so that ImageNet class 284, "Siamese cat", exists). Names
match case-insensitively, with spaces, underscores and hyphens alike ("siamese cat" = "Siamese_cat").
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path

from nnvisual.errors import UserError, in_command_line, named

IMAGENET_SIZE = 1000


def widen_head_help() -> str:
    """How to get a network with ImageNet's classes from ``train``."""
    wider = named("num_classes", IMAGENET_SIZE)
    how = f"nnvisual train {wider}" if in_command_line() else f"nv.train(..., {wider})"
    return f"train the network with a wider head: {how}"


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """ImageNet's 1000 class names in Keras' index order, shipped with nnvisual
    (``imagenet_classes.json``), so that names work offline."""
    return tuple(json.loads(Path(__file__).with_name("imagenet_classes.json").read_text()))


def _placeholder(index: int) -> str:
    return f"class_{index}"


def _normalize(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def model_class_names(class_names: Sequence[str], num_outputs: int) -> tuple[str, ...]:
    """One name per output: the given names, with ImageNet's names for a 1000-way head's
    untrained outputs (named ``class_<i>``)."""
    names = list(class_names[:num_outputs])
    names += [_placeholder(i) for i in range(len(names), num_outputs)]
    if num_outputs == IMAGENET_SIZE:
        imagenet = imagenet_class_names()
        names = [imagenet[i] if name == _placeholder(i) else name for i, name in enumerate(names)]
    return tuple(names)


def resolve_class(spec: str | int, class_names: Sequence[str]) -> tuple[int, str]:
    """``(index, name)`` of the class that ``spec`` (an index or a name) designates.

    ``class_names`` has one name per model output (see :func:`model_class_names`).
    Raises UserError for an index out of range, an unknown name or an ambiguous name.
    """
    count = len(class_names)
    text = str(spec).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        index = int(text)
        if not 0 <= index < count:
            widen = count < IMAGENET_SIZE and 0 <= index < IMAGENET_SIZE
            hint = f"; {widen_head_help()}" if widen else ""
            raise UserError(f"class {index} is out of range: the model has {count} outputs "
                            f"(classes 0-{count - 1}){hint}")
        return index, class_names[index]
    wanted = _normalize(text)
    matches = [i for i, name in enumerate(class_names) if _normalize(name) == wanted]
    if len(matches) == 1:
        return matches[0], class_names[matches[0]]
    if matches:
        listed = ", ".join(map(str, matches))
        raise UserError(f"class name '{text}' is ambiguous (classes {listed}); "
                        "give the index instead")
    raise UserError(_unknown_name_message(text, wanted, class_names))


def _unknown_name_message(text: str, wanted: str, class_names: Sequence[str]) -> str:
    count = len(class_names)
    if count < IMAGENET_SIZE:
        imagenet = [_normalize(name) for name in imagenet_class_names()]
        if wanted in imagenet:
            return (f"'{text}' is ImageNet class {imagenet.index(wanted)}, but the model has only "
                    f"{count} outputs; {widen_head_help()}")
    normalized = {_normalize(name): name for name in class_names}
    close = difflib.get_close_matches(wanted, list(normalized), n=3, cutoff=0.6)
    if close:
        suggestions = ", ".join(normalized[c] for c in close)
        return f"unknown class name '{text}'; did you mean {suggestions}?"
    if count <= 20:
        return f"unknown class name '{text}'; classes: {', '.join(class_names)}"
    return f"unknown class name '{text}'; give a class index (0-{count - 1}) or an exact class name"
