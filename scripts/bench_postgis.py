"""The peer for scripts/bench: the same nearest and radius queries in PostGIS.

A throw-away cluster (initdb into a temporary directory, pg_ctl on a free port of 127.0.0.1,
run as the ``postgres`` user when we are root), one table per point set with a geography
column and a GiST index, and per-query round trips from psycopg with prepared statements:
KNN ``ORDER BY geog <-> origin LIMIT 5`` and ``ST_DWithin(geog, origin, 25000)``.
Imported by scripts/bench.py.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from bench_inproc import per_call_us
from live_server import free_port

from locator.crs import to_wgs84

NEAREST = """SELECT id, ST_Distance(geog, o.g) FROM {table},
  (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS g) o
  ORDER BY geog <-> o.g LIMIT 5"""
WITHIN = """SELECT id, d FROM (SELECT id, ST_Distance(geog, o.g) AS d FROM {table},
  (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS g) o
  WHERE ST_DWithin(geog, o.g, 25000)) s ORDER BY d, id"""


def why_unavailable() -> str | None:
    """None when a PostGIS peer can run here, else the reason it cannot."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[bench]')"
    if not _pg_bin("initdb"):
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control"):
        return "the PostGIS extension is not installed (apt-get install postgis)"
    if os.geteuid() == 0 and not _user_exists("postgres"):
        return "running as root and there is no 'postgres' user to run the server as"
    return None


def _pg_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """A temporary PostgreSQL cluster on 127.0.0.1:<free port>; yields its conninfo."""
    base = Path(tempfile.mkdtemp(prefix="locator-pg-"))
    data, port = base / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    run = dict(check=True, capture_output=True, text=True, cwd="/")
    try:
        subprocess.run(_as_server_user([_pg_bin("initdb"), "-D", str(data), "-A", "trust",
                                        "-U", "postgres", "-E", "UTF8"]), **run)
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c shared_buffers=256MB -c jit=off")
        subprocess.run(_as_server_user([_pg_bin("pg_ctl"), "-D", str(data), "-o", options,
                                        "-l", str(base / "server.log"), "-w", "start"]), **run)
        try:
            yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        finally:
            subprocess.run(_as_server_user([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast",
                                            "-w", "stop"]), capture_output=True, cwd="/")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def load_table(conn, table: str, ids: list[str], lats: np.ndarray, lons: np.ndarray) -> float:
    """Create and fill a table with a GiST-indexed geography column; seconds taken."""
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (id text, lat float8, lon float8)")
        with cur.copy(f"COPY {table} (id, lat, lon) FROM STDIN") as copy:
            for row in zip(ids, lats.tolist(), lons.tolist(), strict=True):
                copy.write_row(row)
        cur.execute(f"ALTER TABLE {table} ADD COLUMN geog geography(Point, 4326)")
        cur.execute(f"UPDATE {table} SET geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
        cur.execute(f"CREATE INDEX ON {table} USING gist (geog)")
        cur.execute(f"VACUUM ANALYZE {table}" if conn.autocommit else f"ANALYZE {table}")
    return time.perf_counter() - t0


def measure(conn, table: str, origins: list[tuple[float, float]], rounds: int) -> dict:
    nearest_sql, within_sql = NEAREST.format(table=table), WITHIN.format(table=table)
    cur = conn.cursor()

    def nearest(p):
        cur.execute(nearest_sql, (p[1], p[0]), prepare=True)
        return cur.fetchall()

    def within(p):
        cur.execute(within_sql, (p[1], p[0]), prepare=True)
        return cur.fetchall()

    return {"nearest5": per_call_us(nearest, origins, rounds),
            "within25": per_call_us(within, origins, rounds)}


def answers(conn, table: str, origins: list[tuple[float, float]]) -> dict[str, list]:
    """Each origin's nearest-5 and within-25 km ids, to compare with the locator's."""
    nearest, within = [], []
    with conn.cursor() as cur:
        for lat, lon in origins:
            cur.execute(NEAREST.format(table=table), (lon, lat), prepare=True)
            nearest.append([(r[0], r[1]) for r in cur.fetchall()])
            cur.execute(WITHIN.format(table=table), (lon, lat), prepare=True)
            within.append([(r[0], r[1]) for r in cur.fetchall()])
    return {"nearest5": nearest, "within25": within}


# A radius query over 1,000,000 points takes PostGIS tens of milliseconds: fewer origins there.
MAX_CALLS = {"1000000": 300}


def run_peer(point_sets: dict[str, tuple[list[str], np.ndarray, np.ndarray]],
             origins: list[tuple[float, float]], rounds: int) -> dict:
    """Load each point set, measure both queries per origin, and the bare round trip."""
    import psycopg

    results: dict[str, dict] = {}
    with cluster() as conninfo, psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION postgis")
            cur.execute("SELECT postgis_lib_version(), version()")
            postgis, server = cur.fetchone()
        ping_cur = conn.cursor()
        results["round_trip"] = per_call_us(
            lambda _: ping_cur.execute("SELECT 1", prepare=True).fetchone(), origins, rounds)
        results["versions"] = {"postgis": postgis, "postgresql": server.split(" on ")[0]}
        for name, (ids, lats, lons) in point_sets.items():
            table = f"points_{name}"
            load_s = load_table(conn, table, ids, lats, lons)
            some = origins[:MAX_CALLS.get(name, len(origins))]
            results[name] = {"load_s": round(load_s, 1), **measure(conn, table, some, rounds)}
            if name == "real":
                results[name]["answers"] = answers(conn, table, origins)
    return results


def synthetic_lat_lon(xy: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    lats, lons = to_wgs84(xy[:, 0], xy[:, 1])
    return [str(i) for i in range(len(xy))], np.asarray(lats), np.asarray(lons)
