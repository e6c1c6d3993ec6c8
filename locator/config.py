"""Settings: defaults, overridden by LOCATOR_* environment variables, validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError

REPO_GEODATA = Path(__file__).resolve().parent.parent / "geodata"
ENV_PREFIX = "LOCATOR_"

# Keys as they appear in Flask's app.config and, with the LOCATOR_ prefix, in the environment.
DEFAULTS: dict[str, object] = {
    "DATA_DIR": str(REPO_GEODATA),
    "OFFICES_FILE": "",  # default: DATA_DIR/offices.csv
    "DISTRICTS_FILE": "",  # official boundaries (e.g. BKG VG250 KRS); default: approximation
    "DISTRICTS_AGS_COLUMN": "",  # default: detected (AGS, ags, ARS, RS, ...)
    "CORS_ORIGINS": "",  # comma-separated allow-list; empty: same origin only
    "TILE_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "TILE_ATTRIBUTION": (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-Mitwirkende'
    ),
    "FRAME_ANCESTORS": "*",  # CSP frame-ancestors of the widget pages (checked by the widget)
    "OFFICE_LIST_MAX_AGE_S": 300,
    "RELOAD_CHECK_S": 0,  # > 0: check the data files for changes this often and reload
    "GEOCODER": "offline",
    "GEOCODER_URL": "",
    "GEOCODER_API_KEY": "",  # for services that need one (opencage, here, ...); never logged
    "GEOCODER_USER_AGENT": "koki-locator/0.1 (bulk geocoding for the Bavarian KoKi network)",
    "GEOCODER_TIMEOUT_S": 10.0,
    "GEOCODER_MIN_DELAY_S": 1.0,
    "CACHE_DIR": "",  # default: DATA_DIR/../var/cache
}


@dataclass(frozen=True)
class Settings:
    """Validated, typed settings; the only place LOCATOR_* values are interpreted."""

    data_dir: Path
    offices_file: Path
    districts_file: Path | None
    districts_ags_column: str | None
    cors_origins: tuple[str, ...]
    tile_url: str
    tile_attribution: str
    frame_ancestors: str
    office_list_max_age_s: int
    reload_check_s: float
    geocoder: str
    geocoder_url: str
    geocoder_api_key: str = field(repr=False)
    geocoder_user_agent: str
    geocoder_timeout_s: float
    geocoder_min_delay_s: float
    cache_dir: Path

    @property
    def postcodes_file(self) -> Path:
        return self.data_dir / "postcodes.csv"

    @property
    def district_names_file(self) -> Path:
        return self.data_dir / "districts.csv"

    @property
    def data_files(self) -> tuple[Path, ...]:
        """Every file the service loads: their digest is the data version, their change a reload."""
        return (self.offices_file, self.district_names_file, self.postcodes_file, self.areas_file)

    @property
    def areas_file(self) -> Path:
        """District areas: official boundaries when configured, else the shipped approximation."""
        return self.districts_file or self.data_dir / "district_areas.geojson"

    @classmethod
    def from_mapping(cls, config: Mapping[str, object]) -> Settings:
        """Settings from a mapping with DEFAULTS' keys (Flask's app.config, or the environment)."""
        merged = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
        data_dir = Path(str(merged["DATA_DIR"])).expanduser()
        offices = str(merged["OFFICES_FILE"]) or str(data_dir / "offices.csv")
        districts = str(merged["DISTRICTS_FILE"])
        cache = str(merged["CACHE_DIR"]) or str(data_dir.parent / "var" / "cache")
        origins = tuple(o.strip() for o in str(merged["CORS_ORIGINS"]).split(",") if o.strip())
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ConfigError(
                    f"{ENV_PREFIX}CORS_ORIGINS: {origin!r} is not an origin like https://example.org"
                )
        return cls(
            data_dir=data_dir,
            offices_file=Path(offices).expanduser(),
            districts_file=Path(districts).expanduser() if districts else None,
            districts_ags_column=str(merged["DISTRICTS_AGS_COLUMN"]) or None,
            cors_origins=origins,
            tile_url=str(merged["TILE_URL"]),
            tile_attribution=str(merged["TILE_ATTRIBUTION"]),
            frame_ancestors=str(merged["FRAME_ANCESTORS"]) or "*",
            office_list_max_age_s=int(_number(merged, "OFFICE_LIST_MAX_AGE_S", minimum=0)),
            reload_check_s=_number(merged, "RELOAD_CHECK_S", minimum=0),
            geocoder=str(merged["GEOCODER"]).strip().lower() or "offline",
            geocoder_url=str(merged["GEOCODER_URL"]),
            geocoder_api_key=str(merged["GEOCODER_API_KEY"]),
            geocoder_user_agent=str(merged["GEOCODER_USER_AGENT"]),
            geocoder_timeout_s=_number(merged, "GEOCODER_TIMEOUT_S", minimum=0.1),
            geocoder_min_delay_s=_number(merged, "GEOCODER_MIN_DELAY_S", minimum=0),
            cache_dir=Path(cache).expanduser(),
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from LOCATOR_* variables, then keyword overrides (lower-case field names)."""
        environ = os.environ if environ is None else environ
        config: dict[str, object] = {
            key[len(ENV_PREFIX):]: value
            for key, value in environ.items()
            if key.startswith(ENV_PREFIX)
        }
        config.update({key.upper(): value for key, value in overrides.items()})
        return cls.from_mapping(config)


def _number(config: Mapping[str, object], key: str, *, minimum: float) -> float:
    try:
        value = float(config[key])  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{ENV_PREFIX}{key}: {config[key]!r} is not a number") from err
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"{ENV_PREFIX}{key}: must be at least {minimum}, got {value}")
    return value


SETTING_NAMES = tuple(f.name for f in fields(Settings))
