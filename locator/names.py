"""Places by name: the index behind q= and the suggestions, and the one ranking both use.

Ranking: Bavarian places first; then standing (kreisfreie Städte and Kreisstädte, then
population); then a place's own name before a short form of it ("Garmisch" for
Garmisch-Partenkirchen). Suggestions put places the typed word names (by full name or short form)
before those it merely begins. Everything is ranked when the index is built, not per request.

A name matching places in several districts resolves to the first only when it clearly stands
out: at least STANDS_OUT times the population of every other one ("Neumarkt": Neumarkt i.d.OPf.,
39,557, against Neumarkt-Sankt Veit, 6,231). Otherwise the family chooses ("Pfaffenhofen":
an der Ilm, 23,192, an der Roth, 7,158, an der Glonn).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .textnorm import place_key, prefix_key, short_place_keys

STANDS_OUT = 5
# A place GeoNames' cities500 does not list has fewer than 500 inhabitants, unless its name
# was not matched: count it as 500, so a place must have 2,500 to stand out against it.
UNKNOWN_POPULATION = 500


@dataclass(frozen=True, slots=True)
class Place:
    """A named place within one district; its point is the mean of its postcode points.

    ``population`` (0: unknown) and ``seat`` ("kreisfreie Stadt", "Kreisstadt" or "") rank
    places of one name."""

    name: str
    district_ags: str
    district_name: str
    state_code: str
    lat: float
    lon: float
    postcodes: tuple[str, ...]
    population: int = 0
    seat: str = ""

    @property
    def in_bavaria(self) -> bool:
        return self.state_code == "BY"

    @property
    def label(self) -> str:
        """"85276 Pfaffenhofen an der Ilm": shown to the family, and as q= it finds this place
        alone (its postcode narrowed to its name)."""
        return f"{self.postcodes[0]} {self.name}" if self.postcodes else self.name


def standing(place: Place) -> tuple[bool, bool, int]:
    """Sort key of a place's standing: Bavarian, seat of a district, population."""
    return (not place.in_bavaria, not place.seat, -place.population)


def rank(place: Place, exact: bool) -> tuple:
    """Sort key of a place found by its full name (``exact``) or a short form; total."""
    return (*standing(place), not exact, place.name, place.district_ags)


def contenders(ranked: Sequence[Place]) -> tuple[Place, ...]:
    """Places, ranked, between which a name leaves the choice to the family: () when they all
    lie in one district or the first clearly stands out. Outside Bavaria only counts when no
    Bavarian place has the name."""
    pool = [p for p in ranked if p.in_bavaria] or list(ranked)
    if len({p.district_ags for p in pool}) <= 1:
        return ()
    top = pool[0]
    rivals = max(p.population or UNKNOWN_POPULATION
                 for p in pool[1:] if p.district_ags != top.district_ags)
    if top.population >= STANDS_OUT * rivals:
        return ()
    return tuple(pool)


class NameIndex:
    """Places by normalised name and short form, each key's candidates ranked once at load."""

    def __init__(self, places: Iterable[Place]) -> None:
        exact: dict[str, list[Place]] = defaultdict(list)
        short: dict[str, list[Place]] = defaultdict(list)
        for place in places:
            key = place_key(place.name)
            exact[key].append(place)
            for short_key in short_place_keys(place.name, key):
                short[short_key].append(place)
        self._ranked: dict[str, tuple[Place, ...]] = {}
        for key in exact.keys() | short.keys():
            named = exact.get(key, [])
            ids = {id(p) for p in named}
            found = [(rank(p, True), p) for p in named]
            found += [(rank(p, False), p) for p in short.get(key, ()) if id(p) not in ids]
            self._ranked[key] = tuple(p for _, p in sorted(found, key=lambda rp: rp[0]))
        self._contenders = {key: contenders(ps) for key, ps in self._ranked.items()}
        self._count = sum(len(ps) for ps in exact.values())
        # Type-ahead: every key (full names and short forms) in order, and per key its place
        # and the position of its rank among all ranks, in arrays: a one-letter prefix spans
        # thousands of keys, which numpy orders in ~0.1 ms and a Python loop in ~1.5 ms.
        entries = [(key, rank(p, True), p) for key, ps in exact.items() for p in ps]
        entries += [(key, rank(p, False), p) for key, ps in short.items() for p in ps]
        entries.sort(key=lambda e: (e[0], e[1]))
        self._prefix_keys = [e[0] for e in entries]
        by_rank = sorted(range(len(entries)), key=lambda i: entries[i][1])
        position = np.empty(len(entries), dtype=np.int64)
        position[by_rank] = np.arange(len(entries))
        # Bavaria first (bit 41), then a key the typed word names (bit 40 is set per query for
        # the others), then the rank.
        outside = np.array([e[1][0] for e in entries], dtype=np.int64)
        self._prefix_order = (outside << 41) | position
        self._suggested: list[Place] = list({id(e[2]): e[2] for e in entries}.values())
        slot = {id(p): i for i, p in enumerate(self._suggested)}
        self._prefix_place = np.array([slot[id(e[2])] for e in entries], dtype=np.int64)

    def __len__(self) -> int:
        return self._count

    def places(self) -> Iterable[Place]:
        """Every place once."""
        seen: set[int] = set()
        for ps in self._ranked.values():
            for p in ps:
                if id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def lookup(self, key: str) -> tuple[Place, ...]:
        """Places named ``key`` (a place_key) in full or by a short form, best first."""
        return self._ranked.get(key, ())

    def contenders(self, key: str) -> tuple[Place, ...]:
        """contenders() of lookup(key), computed at load."""
        return self._contenders.get(key, ())

    def keys(self) -> Iterable[str]:
        return self._ranked.keys()

    def suggest(self, text: str, limit: int) -> list[Place]:
        """Up to ``limit`` places whose name or short form starts with ``text``, ranked."""
        whole = place_key(text)
        keys = self._prefix_keys
        spans = [(bisect.bisect_left(keys, k), bisect.bisect_left(keys, k + "\uffff"))
                 for k in {prefix_key(text), whole} - {""}]
        if not any(hi > lo for lo, hi in spans):
            return []
        found = np.unique(np.concatenate([np.arange(lo, hi) for lo, hi in spans]))
        named_lo, named_hi = bisect.bisect_left(keys, whole), bisect.bisect_right(keys, whole)
        merely_begun = (found < named_lo) | (found >= named_hi)
        order = self._prefix_order[found] | (merely_begun.astype(np.int64) << 40)
        places = self._prefix_place[found[np.argsort(order, kind="stable")]]
        _, first = np.unique(places, return_index=True)  # each place at its best key
        return [self._suggested[i] for i in places[np.sort(first)[:limit]].tolist()]
