"""Geocoding for staff's bulk work behind geopy's one interface: the offline gazetteer, or any
geopy geocoder (``LOCATOR_GEOCODER=nominatim``, ``photon``, ``pelias``, …) wrapped with a rate
limit, retries with back-off, a persistent SQLite cache and the offline gazetteer as fallback.

Only ``locator geocode`` uses this module. The HTTP API resolves a family's query with the
offline gazetteer alone and never imports it: a family's place must not leave the process.
"""

from __future__ import annotations

import inspect
import json
import logging
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from geopy.adapters import URLLibAdapter
from geopy.exc import (
    GeocoderNotFound,
    GeocoderParseError,
    GeocoderRateLimited,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from .config import Settings
from .errors import ConfigError, DataError
from .gazetteer import AddressQuery, Gazetteer, parse_query
from .textnorm import place_key, street_key

log = logging.getLogger(__name__)

OFFLINE = "offline"
CACHE_FILE = "geocode-cache.sqlite3"
MAX_RETRIES = 3
# The first retry waits twice the minimum delay between requests (at least MIN_BACKOFF_S),
# each further one twice as long; a 429's Retry-After wins when it asks for longer.
MIN_BACKOFF_S = 0.1
MAX_BACKOFF_S = 120.0
# Nominatim's usage policy for the public server: at most one request per second and a user
# agent that names the application. Other Nominatim servers (your own) set their own limits.
PUBLIC_NOMINATIM = "nominatim.openstreetmap.org"
PUBLIC_NOMINATIM_MIN_DELAY_S = 1.0
# German results only, in German; each service spells the options its own way.
SERVICE_OPTIONS: dict[str, dict[str, object]] = {
    "nominatim": {"addressdetails": True, "country_codes": "de", "language": "de"},
    "photon": {"language": "de"},
    "pelias": {"countries": ["DEU"], "language": "de"},
}
# Services whose geocode() takes a structured dict (street, postalcode, city, ...).
STRUCTURED = frozenset({"nominatim"})


def build_geocoder(settings: Settings, gazetteer: Gazetteer, *, name: str | None = None,
                   cache: bool = True) -> Gazetteer | OnlineGeocoder:
    """The configured geocoder: the gazetteer itself for "offline", else an OnlineGeocoder
    with its cache in ``settings.cache_dir``. ConfigError for an unknown or misconfigured one."""
    name = (name or settings.geocoder or OFFLINE).strip().lower()
    if name == OFFLINE:
        return gazetteer
    backend = make_backend(name, settings)
    min_delay_s = settings.geocoder_min_delay_s
    if name == "nominatim" and getattr(backend, "domain", "") == PUBLIC_NOMINATIM:
        min_delay_s = max(min_delay_s, PUBLIC_NOMINATIM_MIN_DELAY_S)
    return OnlineGeocoder(
        backend, name=name, fallback=gazetteer, min_delay_s=min_delay_s,
        cache=GeocodeCache(settings.cache_dir / CACHE_FILE) if cache else None,
    )


def make_backend(name: str, settings: Settings) -> Geocoder:
    """An instance of geopy's geocoder class for ``name``, configured from the settings."""
    try:
        cls = get_geocoder_for_service(name)
    except GeocoderNotFound as err:
        raise ConfigError(f"LOCATOR_GEOCODER: {name!r} is neither 'offline' nor a geopy "
                          f"geocoder ({err})") from err
    accepted = inspect.signature(cls.__init__).parameters
    # geopy's urllib adapter: standard library only, and exactly one HTTP request per call
    # (the requests adapter retries on its own, which would blur our rate limit and retries).
    kwargs: dict[str, object] = {"adapter_factory": URLLibAdapter}
    url = settings.geocoder_url.strip()
    if url:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if "domain" not in accepted:
            raise ConfigError(f"LOCATOR_GEOCODER_URL: geopy's {name} takes no server address")
        kwargs["domain"] = (parts.netloc + parts.path).rstrip("/")
        if "scheme" in accepted:
            kwargs["scheme"] = parts.scheme
    if "user_agent" in accepted:
        kwargs["user_agent"] = settings.geocoder_user_agent
    if "timeout" in accepted:
        kwargs["timeout"] = settings.geocoder_timeout_s
    if settings.geocoder_api_key:
        key_param = next((k for k in ("api_key", "apikey", "key") if k in accepted), None)
        if key_param:
            kwargs[key_param] = settings.geocoder_api_key
    kwargs = {k: v for k, v in kwargs.items() if k in accepted or k == "adapter_factory"}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, GeopyError) as err:
        raise ConfigError(f"LOCATOR_GEOCODER: geopy's {name} cannot be set up: {err} "
                          "(see LOCATOR_GEOCODER_URL, LOCATOR_GEOCODER_API_KEY)") from err


def query_key(query: AddressQuery) -> str:
    """The cache key: the normalised query, so "Str." and "Straße" are asked only once."""
    return f"{street_key(query.street)}|{query.postcode}|{place_key(query.city)}"


class GeocodeCache:
    """Persistent answers of online geocoders: (backend, normalised query) → result or None.

    Each answer is committed at once, so an interrupted run keeps everything it was told;
    failures are not stored, so a re-run asks again only for those.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS geocode (backend TEXT NOT NULL, query TEXT NOT NULL,"
                " result TEXT, created TEXT NOT NULL, PRIMARY KEY (backend, query))"
            )
        except (OSError, sqlite3.Error) as err:
            raise DataError(self.path, f"unusable geocoding cache: {err}") from err

    def get(self, backend: str, key: str) -> tuple[bool, dict | None]:
        """(found, result); result None when the service had no match."""
        try:
            row = self._db.execute("SELECT result FROM geocode WHERE backend = ? AND query = ?",
                                   (backend, key)).fetchone()
            if row is None:
                return False, None
            return True, (json.loads(row[0]) if row[0] is not None else None)
        except (sqlite3.Error, ValueError) as err:
            raise DataError(self.path, f"unusable geocoding cache: {err}") from err

    def put(self, backend: str, key: str, result: dict | None) -> None:
        value = json.dumps(result, ensure_ascii=False) if result is not None else None
        try:
            self._db.execute("INSERT OR REPLACE INTO geocode VALUES (?, ?, ?, ?)",
                             (backend, key, value, datetime.now(UTC).isoformat(timespec="seconds")))
        except sqlite3.Error as err:
            raise DataError(self.path, f"cannot store in the geocoding cache: {err}") from err

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM geocode").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class OnlineGeocoder(Geocoder):
    """A geopy geocoder behind geopy's RateLimiter, with retries, cache and offline fallback.

    ``geocode()`` keeps geopy's contract; ``raw`` is normalised like the gazetteer's
    (precision address / street / postcode / place, source, postcode, place), the service's own
    answer under ``raw["service"]``. When the service fails after its retries, or finds
    nothing, the offline gazetteer answers and ``raw["fallback"]`` says why.
    """

    def __init__(self, backend: Geocoder, *, name: str, fallback: Gazetteer,
                 cache: GeocodeCache | None = None, min_delay_s: float = 1.0,
                 max_retries: int = MAX_RETRIES, backoff_s: float | None = None) -> None:
        super().__init__(user_agent=backend.headers.get("User-Agent"),
                         adapter_factory=URLLibAdapter)  # its own adapter is never used
        self.backend = backend
        self.name = name
        self.fallback = fallback
        self.cache = cache
        self.max_retries = max_retries
        self.backoff_s = max(2 * min_delay_s, MIN_BACKOFF_S) if backoff_s is None else backoff_s
        self._attempts = 0
        # The cache tells servers apart: your own Nominatim may answer differently.
        self.cache_id = f"{name}:{getattr(backend, 'domain', '')}"
        self._limited = RateLimiter(
            backend.geocode, min_delay_seconds=min_delay_s, max_retries=0,
            error_wait_seconds=max(min_delay_s, 0.0), swallow_exceptions=False,
        )
        accepted = inspect.signature(backend.geocode).parameters
        self._options = {k: v for k, v in SERVICE_OPTIONS.get(name, {}).items() if k in accepted}
        self.stats: Counter[str] = Counter()

    @property
    def min_delay_s(self) -> float:
        return self._limited.min_delay_seconds

    def geocode(self, query, *, exactly_one: bool = True, timeout=None, **_ignored):
        q = parse_query(query)
        if not q:
            return None
        key = query_key(q)
        if self.cache is not None:
            found, cached = self.cache.get(self.cache_id, key)
            if found:
                self.stats["cached"] += 1
                if cached is None:
                    return self._offline(q, exactly_one, f"{self.name} found no match")
                location = Location(cached["address"], (cached["lat"], cached["lon"]),
                                    cached["raw"])
                return location if exactly_one else [location]
        try:
            answer = self._ask(q)
        except GeopyError as err:
            self.stats["failed"] += 1
            log.warning("%s failed after %d request(s): %s", self.name, self._attempts, err)
            return self._offline(q, exactly_one, f"{self.name} failed: "
                                                 f"{type(err).__name__}: {err}")
        result = _normalise(self.name, answer) if answer is not None else None
        if self.cache is not None:
            self.cache.put(self.cache_id, key, result)
        if result is None:
            return self._offline(q, exactly_one, f"{self.name} found no match")
        location = Location(result["address"], (result["lat"], result["lon"]), result["raw"])
        return location if exactly_one else [location]

    def reverse(self, query, *, exactly_one: bool = True, timeout=None, **_ignored):
        raise NotImplementedError("bulk geocoding does not reverse-geocode")

    def _ask(self, q: AddressQuery) -> Location | None:
        """One answer from the service: rate-limited, transient errors retried with back-off."""
        payload = _payload(self.name, q)
        self._attempts = 0
        while True:
            self._attempts += 1
            self.stats["requests"] += 1
            try:
                answer = self._limited(payload, exactly_one=True, **self._options)
            except GeopyError as err:
                if not _transient(err) or self._attempts > self.max_retries:
                    raise
                wait = min(self.backoff_s * 2 ** (self._attempts - 1), MAX_BACKOFF_S)
                if isinstance(err, GeocoderRateLimited) and err.retry_after:
                    wait = max(wait, min(float(err.retry_after), MAX_BACKOFF_S))
                self.stats["retried"] += 1
                log.info("%s: %s; retry %d/%d in %.1f s", self.name, type(err).__name__,
                         self._attempts, self.max_retries, wait)
                time.sleep(wait)
                continue
            self.stats["answered"] += 1
            return answer

    def _offline(self, q: AddressQuery, exactly_one: bool, reason: str):
        self.stats["fallback"] += 1
        found = self.fallback.geocode(q, exactly_one=False)
        if not found:
            return None
        for location in found:
            location.raw["fallback"] = reason
        return found[0] if exactly_one else found


def _transient(err: GeopyError) -> bool:
    """Worth a retry: timeouts, unavailable, 429, 5xx, a garbled answer; not a bad query/key."""
    return isinstance(err, GeocoderTimedOut | GeocoderUnavailable | GeocoderRateLimited
                      | GeocoderParseError) or type(err) is GeocoderServiceError


def _payload(name: str, q: AddressQuery):
    if name in STRUCTURED:
        fields = {"street": q.street, "postalcode": q.postcode, "city": q.city}
        return {k: v for k, v in fields.items() if v}
    place = " ".join(p for p in (q.postcode, q.city) if p)
    return ", ".join(p for p in (q.street, place) if p)


def _normalise(name: str, location: Location) -> dict:
    """The service's Location as a JSON-able dict with our raw fields."""
    raw = location.raw if isinstance(location.raw, dict) else {}
    precision, postcode, place = _describe(raw)
    return {
        "address": location.address,
        "lat": round(location.latitude, 7),
        "lon": round(location.longitude, 7),
        "raw": {
            "precision": precision,
            "source": name,
            "postcode": postcode,
            "place": place,
            "district_ags": [],  # the caller knows the district areas: Locator.areas.key_at
            "in_bavaria": None,
            "unmatched": [],
            "service": raw,
        },
    }


def _describe(raw: dict) -> tuple[str, str | None, str | None]:
    """(precision, postcode, place) from a Nominatim, Photon or Pelias answer; an unknown
    service's answer counts as place precision: nothing claims more than it knows."""
    address = raw.get("address") if isinstance(raw.get("address"), dict) else {}
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    postcode = address.get("postcode") or props.get("postcode") or props.get("postalcode")
    place = (address.get("city") or address.get("town") or address.get("village")
             or address.get("municipality") or props.get("city") or props.get("locality")
             or props.get("name"))
    kind = {str(raw.get(k) or props.get(k) or "") for k in ("addresstype", "type", "class",
                                                             "osm_key", "layer")}
    if (address.get("house_number") or props.get("housenumber")
            or kind & {"house", "building", "address"}):
        precision = "address"
    elif kind & {"road", "street", "highway"}:
        precision = "street"
    elif kind & {"postcode", "postalcode"}:
        precision = "postcode"
    else:
        precision = "place"
    return precision, postcode, place
