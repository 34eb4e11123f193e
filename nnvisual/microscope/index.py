"""The atlas's search index: one entry per layer and per channel, as JSON that the index page
carries inline (a browser reads no file:// URL with fetch(); nothing is fetched from anywhere)."""

from __future__ import annotations

import json
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def slug(layer: str) -> str:
    """``layer`` (a path ``outer/inner`` inside nested models) as one folder name."""
    return _UNSAFE.sub("_", layer.replace("/", "--"))


def channel_page(layer: str, channel: int) -> str:
    """The stable link of a channel's page from the atlas's root: ``conv4/17.html``."""
    return f"{slug(layer)}/{int(channel)}.html"


def channel_file(layer: str, channel: int, name: str) -> str:
    """A file of a channel's page from the atlas's root: ``conv4/17/top.png``."""
    return f"{slug(layer)}/{int(channel)}/{name}"


def layer_page(layer: str) -> str:
    return f"{slug(layer)}/index.html"


def entries(layers: list[tuple[str, tuple, list[int]]]) -> list[dict]:
    """The search entries of ``[(layer, shape, channels)]``: each layer, then each of its
    channels (``name`` is what a search matches: ``conv4``, ``conv4/17``)."""
    found = []
    for layer, shape, channels in layers:
        found.append({"name": layer, "kind": "layer", "href": layer_page(layer),
                      "about": "x".join(map(str, shape))})
        found += [{"name": f"{layer}/{channel}", "kind": "channel", "href": channel_page(layer, channel),
                   "thumb": channel_file(layer, channel, "thumb.png")} for channel in channels]
    return found


def inline_json(value) -> str:
    """``value`` as JSON that can sit inside a ``<script>`` element (no ``</`` in it)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
