"""``--shard I/N``: one of N blocks of a scan, so that a user can spread it over machines with any
job runner and merge the parts (``nnvisual merge``; docs/distributed.md, "Sharded scans").

A scan (``deconv``'s top-9 scan of a split, ``attribute`` over a folder) goes through an ordered
list of images in batches. Shard ``I`` of ``N`` takes the contiguous block of whole batches
``floor(I B / N) .. floor((I + 1) B / N) - 1`` of the ``B`` batches. Each of its batches is a
batch of the unsharded scan, image for image, so every number computed for it is the same, and
the shards' results put one after the other in shard order are the unsharded result in its order.
"""

from __future__ import annotations

import dataclasses
import math
import re

from nnvisual.errors import UserError

_SPEC = re.compile(r"(\d+)/(\d+)")


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(spec: str) -> Shard:
    """``"I/N"`` as a :class:`Shard`; UserError unless 0 <= I < N."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise UserError(f"shard '{spec}' is not I/N (e.g. 0/4: the first of 4 shards)")
    shard = Shard(int(match[1]), int(match[2]))
    if shard.count < 1:
        raise UserError(f"shard '{spec}': the number of shards must be at least 1")
    if shard.index >= shard.count:
        raise UserError(f"shard '{spec}': the index must be below the number of shards "
                        f"(0 to {shard.count - 1})")
    return shard


def block(total: int, spec: str | None, batch_size: int, items: str = "images",
          batches_word: str = "batches") -> range:
    """The positions of ``total`` images (or other ``items``) that shard ``spec`` scans in batches
    of ``batch_size`` (all of them when ``spec`` is None); UserError when there are fewer batches
    than shards."""
    if spec is None:
        return range(total)
    shard = parse(spec)
    batches = math.ceil(total / batch_size)
    if shard.count > batches:
        raise UserError(f"shard {shard}: {total} {items} make {batches} {batches_word} of {batch_size}, "
                        f"too few for {shard.count} shards; use at most {batches}")
    first, last = (shard.index * batches // shard.count,
                   (shard.index + 1) * batches // shard.count)
    return range(first * batch_size, min(last * batch_size, total))


def check_complete(specs: list[str]) -> int:
    """The number of shards of a complete set: each of ``0/N .. N-1/N`` exactly once (UserError
    for mixed counts, a missing or a repeated shard)."""
    found = [parse(spec) for spec in specs]
    counts = sorted({shard.count for shard in found})
    if len(counts) > 1:
        raise UserError(f"the runs are shards of different splits (of {' and of '.join(map(str, counts))})")
    (count,) = counts
    indices = [shard.index for shard in found]
    repeated = sorted({i for i in indices if indices.count(i) > 1})
    if repeated:
        raise UserError(f"shard {repeated[0]}/{count} is given more than once")
    missing = sorted(set(range(count)) - set(indices))
    if missing:
        raise UserError(f"missing shard {', '.join(f'{i}/{count}' for i in missing)}: "
                        f"merge all {count} shards")
    return count
