"""One pass over a dataset for every layer of an atlas: each channel's strongest and weakest
images and its activation statistics, in memory that does not grow with the dataset.

The strongest images are kept exactly as ``deconv --top9`` keeps them
(:func:`~nnvisual.deconv.projector.batch_candidates` and
:func:`~nnvisual.deconv.projector.merge_top`); the weakest are the strongest of the negated
maxima (the images whose strongest response is the lowest). The statistics are those of every
position of every image: the mean activation and the fraction of positions above zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from nnvisual.deconv.projector import Projector, TopCandidates, batch_candidates, merge_top
from nnvisual.runtime.interrupts import check_interrupt

PARTS = ("channels", "indices", "activations", "positions")


@dataclasses.dataclass(frozen=True)
class LayerScan:
    """What a scan found so far for the channels of one layer. ``lowest`` holds the weakest
    images with their activations negated (as :func:`merge_top` keeps them); :meth:`weakest`
    gives them as they are."""

    top: TopCandidates
    lowest: TopCandidates
    sums: np.ndarray  # (k,) float64: the sum of each channel's activations over every position
    active: np.ndarray  # (k,) int64: the positions where each channel is above zero
    seen: int  # positions seen per channel (images x height x width)

    @property
    def layer(self) -> str:
        return self.top.layer

    def weakest(self) -> TopCandidates:
        return dataclasses.replace(self.lowest, activations=-self.lowest.activations)

    @property
    def mean(self) -> np.ndarray:
        return (self.sums / max(self.seen, 1)).astype(np.float32)

    @property
    def fraction_active(self) -> np.ndarray:
        return (self.active / max(self.seen, 1)).astype(np.float32)


def _update(found: LayerScan | None, layer: str, channels, maps: np.ndarray, first: int,
            n: int) -> LayerScan:
    top = batch_candidates(layer, channels, maps, first)
    lowest = dataclasses.replace(top, activations=-top.activations)
    chosen = maps[..., np.asarray(channels)]
    sums = chosen.sum(axis=(0, 1, 2), dtype=np.float64)
    active = (chosen > 0).sum(axis=(0, 1, 2), dtype=np.int64)
    seen = int(np.prod(chosen.shape[:3]))
    if found is None:
        return LayerScan(merge_top([top], n), merge_top([lowest], n), sums, active, seen)
    return LayerScan(merge_top([found.top, top], n), merge_top([found.lowest, lowest], n),
                     found.sums + sums, found.active + active, found.seen + seen)


def scan_layers(projector: Projector, batches: Iterable[tuple[int, np.ndarray]],
                channels_by_layer: dict, n: int, start: Sequence[LayerScan] = ()
                ) -> Iterator[tuple[int, list[LayerScan]]]:
    """Over ``batches`` of ``(position of the batch's first image, model input)``, one forward
    pass per batch for every layer, continuing from ``start`` (one per layer): after each batch
    ``(the position after its last image, each layer's :class:`LayerScan` so far)``."""
    layers = list(channels_by_layer)
    found = {scan.layer: scan for scan in start}
    for first, batch in batches:
        check_interrupt()
        maps = projector.feature_maps(batch, layers)
        for layer in layers:
            found[layer] = _update(found.get(layer), layer, channels_by_layer[layer], maps[layer],
                                   first, n)
        yield first + len(batch), [found[layer] for layer in layers]


def scan_arrays(scans: Sequence[LayerScan]) -> dict[str, np.ndarray]:
    """The arrays of a scan's state (a checkpoint's), read back by :func:`read_scans`."""
    arrays = {}
    for scan in scans:
        for kind in ("top", "lowest"):
            arrays.update({f"{scan.layer}_{kind}_{part}": getattr(getattr(scan, kind), part)
                           for part in PARTS})
        arrays.update({f"{scan.layer}_sums": scan.sums, f"{scan.layer}_active": scan.active,
                       f"{scan.layer}_seen": np.int64(scan.seen)})
    return arrays


def read_scans(arrays, layers) -> list[LayerScan]:
    """The :class:`LayerScan` of each layer from :func:`scan_arrays`' arrays."""
    def candidates(layer, kind):
        return TopCandidates(layer, *(arrays[f"{layer}_{kind}_{part}"] for part in PARTS))

    return [LayerScan(candidates(layer, "top"), candidates(layer, "lowest"), arrays[f"{layer}_sums"],
                      arrays[f"{layer}_active"], int(arrays[f"{layer}_seen"])) for layer in layers]
