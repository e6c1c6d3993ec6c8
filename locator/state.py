"""The serving state: the current Locator and its pre-serialised offices, swapped atomically.

Reloading (SIGHUP to gunicorn's master, see gunicorn_conf.on_reload, or a data file's change
when LOCATOR_RELOAD_CHECK_S > 0) builds a complete new Locator first and only then replaces the
reference; a bad new file keeps the old data serving and logs why. Requests read
``state.loaded`` once, so each sees one consistent set.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from .config import Settings
from .districts import REGIERUNGSBEZIRKE
from .errors import LocatorError
from .ogc.collections import Collection, build_collections
from .service import OFFICE_PROPERTIES, Locator, Responsibility
from .textnorm import fold

log = logging.getLogger(__name__)
_DISTRICT_PREFIX = re.compile(r"^(Landkreis|Stadt|Landeshauptstadt|Große Kreisstadt)\s+")


class ResponsibilityAnswer(NamedTuple):
    """What every answer about one responsibility shares, built from plain values at load."""

    # {"in_bavaria", "ambiguous", "districts"}: the members an answer starts its part with.
    members: dict
    # The responsible offices as features marked "responsible": true, encoded (a JSON array).
    offices: orjson.Fragment


@dataclass(frozen=True)
class Loaded:
    locator: Locator
    # Each office's GeoJSON Feature as plain values (its geometry an orjson Fragment), the
    # API's properties in order: answers add "distance_km" and "responsible" to a copy.
    features: dict[str, dict]
    all_offices_json: bytes
    # Each responsibility the Locator built at load (keyed by the object itself) → its shared
    # answer members: see responsibility().
    responsibility_json: dict[Responsibility, ResponsibilityAnswer]
    # Every office's properties (None for an unknown field), grouped by Regierungsbezirk in
    # their official order, each group by district name: the widget's list, on every page.
    regions: list[tuple[str, list[dict]]]
    # The OGC API – Features collections (offices, district-areas) of this data version.
    ogc: dict[str, Collection]

    def responsibility(self, resp: Responsibility) -> ResponsibilityAnswer:
        """The answer members of a responsibility (built at load for every one the Locator
        builds at load; any other is built now)."""
        found = self.responsibility_json.get(resp)
        return found if found is not None else _responsibility_answer(self.features, resp)


def serialise(locator: Locator) -> Loaded:
    """GeoJSON features of every office as plain values, built once per data version."""
    features = {}
    for office in locator.offices.itertuples():
        properties = {"id": office.id}
        for name in OFFICE_PROPERTIES:
            value = getattr(office, name)
            properties[name] = value if value != "" else None
        properties["lat"], properties["lon"] = office.lat, office.lon
        # The geometry encoded once: answers repeat it unchanged (3 µs less per search).
        geometry = {"type": "Point", "coordinates": [office.lon, office.lat]}
        features[office.id] = {"type": "Feature", "id": office.id,
                               "geometry": orjson.Fragment(orjson.dumps(geometry)),
                               "properties": properties}
    collection = {"type": "FeatureCollection", "data_version": locator.data_version,
                  "features": list(features.values())}
    return Loaded(locator, features, orjson.dumps(collection), {
        resp: _responsibility_answer(features, resp) for resp in locator.responsibilities()},
        _by_region([f["properties"] for f in features.values()]),
        build_collections(locator, list(features.values())))


def office_feature(features: dict[str, dict], office_id: str, *, responsible: bool,
                   distance_m: int | None = None) -> dict:
    """An office's feature with the answer's own properties: the distance (whole metres, in
    km) when given, and whether it is responsible."""
    feature = features[office_id]
    properties = feature["properties"].copy()  # the shared dict stays as loaded
    if distance_m is not None:
        properties["distance_km"] = distance_m / 1000.0
    properties["responsible"] = responsible
    return {"type": "Feature", "id": office_id, "geometry": feature["geometry"],
            "properties": properties}


def _by_region(offices: list[dict]) -> list[tuple[str, list[dict]]]:
    grouped: dict[str, list[dict]] = {}
    for office in offices:
        grouped.setdefault(office["regierungsbezirk"], []).append(office)
    order = {name: i for i, name in enumerate(REGIERUNGSBEZIRKE)}
    return [(region, sorted(grouped[region], key=_district_sort_key))
            for region in sorted(grouped, key=lambda r: (order.get(r, len(order)), r))]


def _district_sort_key(office: dict) -> tuple[str, str]:
    name = office["district_name"] or office["name"]
    return fold(_DISTRICT_PREFIX.sub("", name)), fold(name)


def _responsibility_answer(features: dict[str, dict],
                           resp: Responsibility) -> ResponsibilityAnswer:
    members = {"in_bavaria": resp.in_bavaria, "ambiguous": resp.ambiguous,
               "districts": [{"ags": a, "name": n} for a, n in resp.districts]}
    offices = [office_feature(features, o, responsible=True) for o in resp.office_ids]
    return ResponsibilityAnswer(members, orjson.Fragment(orjson.dumps(offices)))


class LocatorState:
    """Holds the current Loaded data; ``reload()`` replaces it only with data that loaded."""

    def __init__(self, settings: Settings, locator: Locator | None = None) -> None:
        self.settings = settings
        self._loaded = serialise(locator or Locator.from_settings(settings))
        self._lock = threading.Lock()
        self._stamp = self._files_stamp()
        self._next_check = time.monotonic() + settings.reload_check_s

    @property
    def loaded(self) -> Loaded:
        """The current data and its serialisation; read it once per request."""
        return self._loaded

    @property
    def current(self) -> Locator:
        return self._loaded.locator

    def reload(self) -> bool:
        """Load the data files anew; True if the new data now serves, False if kept the old."""
        with self._lock:
            stamp = self._files_stamp()
            try:
                loaded = serialise(Locator.from_settings(self.settings))
            except LocatorError as err:
                # Remember the bad files' stamp: they are tried again when they change, not at
                # every check (each try would hold up a request for a whole load).
                self._stamp = stamp
                log.error("reload failed, still serving data version %s: %s",
                          self._loaded.locator.data_version, err)
                return False
            self._loaded, self._stamp = loaded, stamp
            log.info("reloaded data: version %s, %d offices",
                     loaded.locator.data_version, len(loaded.locator.offices))
            return True

    def maybe_reload(self) -> None:
        """Reload when a data file changed; cheap enough to call before every request."""
        if self.settings.reload_check_s <= 0 or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self.settings.reload_check_s
        if self._files_stamp() != self._stamp:
            self.reload()

    def _files_stamp(self) -> tuple:
        stamp = []
        for path in self.settings.data_files:
            try:
                st = os.stat(path)
                stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamp.append(None)
        return tuple(stamp)
