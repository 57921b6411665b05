"""Records that others point at, kept as compact columns (not rows) while a run lasts.

A pool holds, per record, what children need to stay coherent with their parents: its id,
when it was created and until when it was active (a churned member stops buying), its owner,
whether it is Chinese, its weight (big accounts get many children, small ones few) and its
own references as pool indexes (to derive an order line's account from its order, or pick
the contacts of an account). Memory grows with the parents only; the bulk (activities,
purchases) is written and forgotten.
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Mapping

from ._people import Identity


class Pool:
    def __init__(self, entity: str, link_fields: Mapping[str, str]) -> None:
        self.entity = entity
        #: reference field → target entity, for the references kept per record
        self.link_fields = dict(link_fields)
        self.ids = array("q")
        self.created = array("d")
        self.until = array("d")
        self.owner = array("i")
        self.zh = bytearray()
        self.weight = array("d")
        #: the company and city a record used, which its children share (None: none drawn)
        self.identity: list[Identity | None] = []
        #: reference field → index of the referenced record in the target's pool (-1: none)
        self.links: dict[str, array[int]] = {name: array("q") for name in self.link_fields}
        self._cumulative: array[float] | None = None
        self._children: dict[tuple[str, int], tuple[array[int], array[int]]] = {}
        self._index: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self,
        record_id: int,
        created: float,
        until: float,
        owner: int,
        zh: bool,
        weight: float,
        links: Mapping[str, int],
        identity: Identity | None = None,
    ) -> None:
        self.ids.append(record_id)
        self.created.append(created)
        self.until.append(until)
        self.owner.append(owner)
        self.zh.append(1 if zh else 0)
        self.weight.append(weight)
        self.identity.append(identity)
        for name, column in self.links.items():
            column.append(links.get(name, -1))
        self._cumulative = None

    def index_of(self, record_id: int) -> int | None:
        if self._index is None:
            self._index = {rid: i for i, rid in enumerate(self.ids)}
        return self._index.get(record_id)

    def pick(self, rng: random.Random) -> int:
        """A record index, heavier records more often (big accounts, loyal members)."""
        if self._cumulative is None:
            cumulative, total = array("d"), 0.0
            for w in self.weight:
                total += w
                cumulative.append(total)
            self._cumulative = cumulative
        cumulative = self._cumulative
        at = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
        return min(at, len(cumulative) - 1)

    def children(self, link: str, parents: int) -> tuple[array[int], array[int]]:
        """(offsets, members): the records of this pool whose ``link`` points at parent
        index ``p`` are ``members[offsets[p]:offsets[p + 1]]`` (built once, counting sort)."""
        key = (link, parents)
        found = self._children.get(key)
        if found is None:
            column = self.links[link]
            counts = array("q", bytes(8 * (parents + 1)))
            for parent in column:
                if 0 <= parent < parents:
                    counts[parent + 1] += 1
            for p in range(parents):
                counts[p + 1] += counts[p]
            members = array("q", bytes(8 * counts[parents]))
            fill = array("q", counts[:parents])
            for child, parent in enumerate(column):
                if 0 <= parent < parents:
                    members[fill[parent]] = child
                    fill[parent] += 1
            found = self._children[key] = (counts, members)
        return found

    def pick_child(self, link: str, parents: int, parent: int, rng: random.Random) -> int | None:
        """One of the records under ``parent``, the first ones (key contacts) more often."""
        offsets, members = self.children(link, parents)
        start, end = offsets[parent], offsets[parent + 1]
        if start == end:
            return None
        return members[start + min(int((end - start) * rng.random() ** 1.6), end - start - 1)]
