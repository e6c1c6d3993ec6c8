"""The serving state: the current Locator and its pre-serialised offices, swapped atomically.

Reloading (SIGHUP to gunicorn's master, see gunicorn_conf.on_reload, or a data file's change
when LOCATOR_RELOAD_CHECK_S > 0) builds a complete new Locator first and only then replaces the
reference; a bad new file keeps the old data serving and logs why. Requests read
``state.loaded`` once, so each sees one consistent set.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass

from .config import Settings
from .districts import REGIERUNGSBEZIRKE
from .errors import LocatorError
from .ogc.collections import Collection, build_collections
from .service import OFFICE_PROPERTIES, Locator, Responsibility
from .textnorm import fold

log = logging.getLogger(__name__)
_DISTRICT_PREFIX = re.compile(r"^(Landkreis|Stadt|Landeshauptstadt|Große Kreisstadt)\s+")


@dataclass(frozen=True)
class Loaded:
    locator: Locator
    # Each feature's UTF-8 JSON without its two closing braces, so an answer appends
    # ',"distance_km":…' to the properties instead of encoding the office again per request.
    feature_heads: dict[str, bytes]
    all_offices_json: bytes
    # Each responsibility the Locator built at load (keyed by the object itself) → its
    # encoded answer parts: see responsibility_parts().
    responsibility_json: dict[Responsibility, tuple[bytes, bytes]]
    # Every office's properties (None for an unknown field), grouped by Regierungsbezirk in
    # their official order, each group by district name: the widget's list, on every page.
    regions: list[tuple[str, list[dict]]]
    # The OGC API – Features collections (offices, district-areas) of this data version.
    ogc: dict[str, Collection]

    def responsibility_parts(self, resp: Responsibility) -> tuple[bytes, bytes]:
        """The members "in_bavaria", "ambiguous" and "districts" without braces, and the
        responsible offices as features marked responsible."""
        found = self.responsibility_json.get(resp)
        return found if found is not None else _responsibility_parts(self.feature_heads, resp)


def serialise(locator: Locator) -> Loaded:
    """GeoJSON features of every office, built once per data version, not per request."""
    features = {}
    for office in locator.offices.itertuples():
        properties = {"id": office.id}
        for name in OFFICE_PROPERTIES:
            value = getattr(office, name)
            properties[name] = value if value != "" else None
        properties["lat"], properties["lon"] = office.lat, office.lon
        features[office.id] = {
            "type": "Feature", "id": office.id,
            "geometry": {"type": "Point", "coordinates": [office.lon, office.lat]},
            "properties": properties,
        }
    collection = {"type": "FeatureCollection", "data_version": locator.data_version,
                  "features": list(features.values())}
    # "properties" is each feature's last member: its JSON ends in "}}".
    heads = {i: utf8_json(f)[:-2] for i, f in features.items()}
    return Loaded(locator, heads, utf8_json(collection), {
        resp: _responsibility_parts(heads, resp) for resp in locator.responsibilities()},
        _by_region([f["properties"] for f in features.values()]),
        build_collections(locator, list(features.values())))


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


def _responsibility_parts(heads: dict[str, bytes], resp: Responsibility) -> tuple[bytes, bytes]:
    members = utf8_json({"in_bavaria": resp.in_bavaria, "ambiguous": resp.ambiguous,
                          "districts": [{"ags": a, "name": n} for a, n in resp.districts]})
    offices = b",".join(heads[o] + b',"responsible":true}}' for o in resp.office_ids)
    return members[1:-1], offices


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def utf8_json(value: object) -> bytes:
    """Compact JSON as UTF-8 bytes, the form every answer part takes."""
    return _ENCODER.encode(value).encode()


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
