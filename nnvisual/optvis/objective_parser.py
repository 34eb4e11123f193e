"""The objective language of ``nnvisual maximize --objective``: a weighted sum of terms.

    EXPRESSION := [SIGN] [WEIGHT '*'] TERM  ( ('+' | '-') [WEIGHT '*'] TERM )*
    TERM       := one of the kinds of :data:`KINDS`, as it is written there, e.g.
                  class:CLASS[:softmax] | channel:LAYER:C | neuron:LAYER:C[:Y:X] | ...

e.g. ``class:284``, ``channel:conv3:12``, ``neuron:conv2:5 - 0.5*class:3``,
``channel:conv3:12 + 100*diversity:conv2``. CLASS is an index or a class name without spaces
(underscores for spaces). See :mod:`nnvisual.optvis.terms` for what each term measures.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from nnvisual.errors import UserError, in_command_line


@dataclasses.dataclass(frozen=True)
class Term:
    """One objective term: its ``kind`` (a key of :data:`KINDS`), the ``layer`` it reads (None
    for class)."""

    kind: str
    layer: str | None = None
    channels: tuple[int, ...] = ()  # channel/neuron: one, or one per image
    position: tuple[int, int] | None = None  # neuron: (y, x); None: the centre
    class_index: int | tuple[int, ...] | None = None  # a tuple: one class per image
    softmax: bool = False  # class: the probability instead of the logit
    vector: tuple[float, ...] = ()  # direction


@dataclasses.dataclass(frozen=True)
class Kind:
    """How a kind of term is written, and how many ``:``-separated parts follow the kind."""

    written: str
    parts: tuple[int, ...]


# the kinds of term, one row each; what each measures: nnvisual.optvis.terms.VALUES
KINDS = {
    "class": Kind("class:CLASS[:softmax]", (1, 2)),
    "channel": Kind("channel:LAYER:C", (2,)),
    "neuron": Kind("neuron:LAYER:C[:Y:X]", (2, 4)),
    "layer": Kind("layer:LAYER", (1,)),
    "direction": Kind("direction:LAYER:[V1,...]", (2,)),
    "diversity": Kind("diversity:LAYER", (1,)),
}


def written_terms() -> str:
    """Every kind of term as it is written, for ``--help``."""
    return ", ".join(kind.written for kind in KINDS.values())

_TERM = re.compile(r"""\s*(?P<sign>[+-])?\s*
                       (?:(?P<weight>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*\*\s*)?
                       (?P<term>[a-z]+:(?:\[[^\]]*\]|[^\s+*\[\]-]|-(?=\d))+)\s*""",
                   re.VERBOSE | re.IGNORECASE)
_SIMPLE = re.compile(r"[A-Za-z0-9_./]+")


def _integer(text: str, what: str, spec: str) -> int:
    if not re.fullmatch(r"-?\d+", text):
        raise UserError(f"malformed objective '{spec}': {what} must be a whole number, got '{text}'")
    return int(text)


def _term(text: str, spec: str, resolve_class: Callable[[str], int]) -> Term:
    kind, _, rest = text.partition(":")
    parts = rest.split(":") if not rest.endswith("]") else [*rest.split(":", 1)]
    if kind not in KINDS:
        raise UserError(f"malformed objective '{spec}': unknown term '{kind}'; use one of "
                        f"{', '.join(KINDS)}")
    if len(parts) not in KINDS[kind].parts or not all(parts):
        where = "nnvisual maximize --help" if in_command_line() else "help(nv.maximize)"
        raise UserError(f"malformed objective '{spec}': '{text}' has the wrong number of parts "
                        f"(see {where})")
    if kind == "class":
        if len(parts) == 2 and parts[1] not in ("softmax", "logit"):
            raise UserError(f"malformed objective '{spec}': '{text}' ends in neither :softmax "
                            "nor :logit")
        return Term("class", class_index=resolve_class(parts[0]),
                    softmax=len(parts) == 2 and parts[1] == "softmax")
    layer = parts[0]
    if not _SIMPLE.fullmatch(layer):
        raise UserError(f"malformed objective '{spec}': bad layer name '{layer}'")
    if kind in ("layer", "diversity"):
        return Term(kind, layer)
    if kind == "direction":
        body = parts[1]
        try:
            vector = tuple(float(v) for v in body.strip("[]").split(","))
        except ValueError:
            vector = ()
        if not (body.startswith("[") and body.endswith("]")) or not vector:
            raise UserError(f"malformed objective '{spec}': a direction is "
                            "direction:LAYER:[V1,V2,...]")
        return Term("direction", layer, vector=vector)
    channel = _integer(parts[1], "a channel", spec)
    position = (tuple(_integer(p, "a position", spec) for p in parts[2:]) or None)
    return Term(kind, layer, channels=(channel,), position=position)


def parse_objective(spec: str, resolve_class: Callable[[str], int]) -> list[tuple[float, Term]]:
    """``[(weight, Term), ...]`` of the expression ``spec``; ``resolve_class`` turns a CLASS
    into an index (raising UserError). Any malformed text: UserError, one line."""
    terms, position = [], 0
    spec = spec.strip()
    while position < len(spec):
        match = _TERM.match(spec, position)
        if not match or (terms and not match["sign"]):
            raise UserError(f"malformed objective '{spec}' at '{spec[position:]}': expected "
                            "[+|-] [WEIGHT*] KIND:ARGUMENTS, e.g. \"channel:conv2:5 - 0.5*class:3\"")
        weight = float(match["weight"]) if match["weight"] else 1.0
        terms.append((-weight if match["sign"] == "-" else weight,
                      _term(match["term"], spec, resolve_class)))
        position = match.end()
    if not terms:
        raise UserError("malformed objective '': it names no term")
    return terms
