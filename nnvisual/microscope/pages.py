"""The atlas's pages as HTML text, rendered with Jinja2 (``templates/``): the index (layers,
shapes, the excitation table and a search box over an inline JSON index), a page per layer (a grid
of its channels' visualizations), a page per channel and a page of classes (each rendered class's
feature visualizations, and the channels shown that feed it most where they feed the scores
directly); and the images they show, as arrays. The links are relative
(``conv4/17.html``), so the folder reads offline from anywhere; the command layer writes it.

The functions read an atlas (:class:`nnvisual.steps.atlas.Atlas`: ``layers`` of ``LayerAtlas``,
``names``, ``class_names``) and the rows of its excitation table.
"""

from __future__ import annotations

import functools
from importlib import resources

import jinja2
import numpy as np

from nnvisual.microscope import index

THUMB = 128  # pixels of a visualization's thumbnail on the layer page, at most


def pages(atlas, excitation_rows, title: str) -> dict[str, str]:
    """``{relative path: HTML}`` of every page."""
    env = _environment()
    css = resources.files("nnvisual.microscope").joinpath("templates/atlas.css").read_text()
    common = dict(css=css, title=title)
    rows = _class_rows(atlas)
    entries = index.entries([(la.layer, la.shape, [int(c) for c in la.channels]) for la in atlas.layers])
    found = {"index.html": env.get_template("index.html.j2").render(
        atlas=atlas, layer_rows=list(zip(atlas.layers, excitation_rows, strict=True)),
        channels_total=sum(len(la.channels) for la in atlas.layers), has_classes=bool(rows),
        index_json=index.inline_json(entries),
        example=entries[1]["name"] if len(entries) > 1 else entries[0]["name"], **common)}
    if rows:
        found["classes.html"] = env.get_template("classes.html.j2").render(
            classes=rows, fed=any(row["channels"] for row in rows), **common)
    for la in atlas.layers:
        excited = int(np.sum(la.excited))
        found[index.layer_page(la.layer)] = env.get_template("layer.html.j2").render(
            la=la, excited=excited, **dict(common, title=f"{la.layer}: {title}"))
        channels = [int(c) for c in la.channels]
        for i, channel in enumerate(channels):
            found[index.channel_page(la.layer, channel)] = env.get_template("channel.html.j2").render(
                la=la, i=i, channel=channel, responses=[float(r) for r in la.responses[i]],
                excited=bool(la.excited[i]), previous=channels[i - 1] if i else None,
                next=channels[i + 1] if i + 1 < len(channels) else None,
                top=_examples(atlas.names, la.top_indices[i], la.top_activations[i]),
                bottom=_examples(atlas.names, la.bottom_indices[i], la.bottom_activations[i]),
                classes=[(int(k), atlas.class_names[k], float(w)) for k, w in zip(
                    la.classes[i], la.class_weights[i], strict=True)] if "classes" in la.arrays else [],
                **dict(common, title=f"{la.layer}/{channel}: {title}"))
    return found


def _examples(names, indices, values) -> list[tuple[str, float]]:
    return [(names[k], float(v)) for k, v in zip(indices, values, strict=True)]


def images(atlas) -> dict[str, np.ndarray]:
    """``{relative path: uint8 RGB}`` of every image the pages show: per channel its first
    visualization as a thumbnail, its visualizations side by side, and strips of its strongest
    examples, their projections and its weakest examples; per class rendered, its
    visualizations side by side."""
    from nnvisual import data

    found = {}
    for la in atlas.layers:
        for i, channel in enumerate(la.channels):
            visualizations = la.visualizations[i]
            first = visualizations[0]
            side = min(THUMB, first.shape[0])
            found[index.channel_file(la.layer, channel, "thumb.png")] = data.resize(first, (side, side))
            strips = {"vis": visualizations, "top": la.top_crops[i], "projections": la.projections[i],
                      "bottom": la.bottom_crops[i]}
            for name, strip in strips.items():
                found[index.channel_file(la.layer, channel, f"{name}.png")] = np.concatenate(
                    list(strip), axis=1)
    for k, visualizations in zip(atlas.class_arrays.get("indices", []),
                                 atlas.class_arrays.get("visualizations", []), strict=True):
        found[class_file(k)] = np.concatenate(list(visualizations), axis=1)
    return found


def class_file(k: int) -> str:
    """A class's visualizations from the atlas's root: ``classes/284.png``."""
    return f"classes/{int(k)}.png"


def _class_rows(atlas, count: int = 8) -> list[dict]:
    """Per class rendered or fed, in class order: its ``index``, ``name``, ``image``
    (:func:`class_file`, None where not rendered) with its visualizations' ``logits`` and
    ``probabilities`` of the class, and the ``channels`` shown that list it among those they feed
    most, strongest weight first (``[(layer, channel, weight)]``)."""
    fed = {}
    for la in atlas.layers:
        if "classes" not in la.arrays:
            continue
        for i, channel in enumerate(la.channels):
            for k, weight in zip(la.classes[i], la.class_weights[i], strict=True):
                fed.setdefault(int(k), []).append((la.layer, int(channel), float(weight)))
    rendered = {int(k): i for i, k in enumerate(atlas.class_arrays.get("indices", []))}
    rows = []
    for k in sorted(set(fed) | set(rendered)):
        i = rendered.get(k)
        rows.append(dict(index=k, name=atlas.class_names[k],
                         image=class_file(k) if i is not None else None,
                         logits=[] if i is None else [float(x) for x in atlas.class_arrays["logits"][i]],
                         probabilities=[] if i is None else [
                             float(x) for x in atlas.class_arrays["probabilities"][i]],
                         channels=sorted(fed.get(k, []), key=lambda item: -item[2])[:count]))
    return rows


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("nnvisual.microscope"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.globals.update(layer_page=index.layer_page, channel_page=index.channel_page)
    return env
