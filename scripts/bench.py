#!/usr/bin/env python3
"""Benchmarks of the KoKi locator, measured on this machine in one run: prints a JSON object of
named figures on stdout and a readable table on stderr. Run it through scripts/bench, which
sets up .venv and installs wrk and PostGIS when it can.

    scripts/bench            full run (a few minutes)
    scripts/bench --quick    fewer rounds and shorter loads (within a minute)
    scripts/bench --write    also put the figures into README.md (between the bench markers)
    scripts/bench --profile  also profile one request per query endpoint (pyinstrument)

Every figure is a median over repeated runs; each names its unit. Data: the offices the
service loads (Settings from LOCATOR_* as the service reads them: the embedded data unless
set), and synthetic point sets of 10,000 and 1,000,000 over Germany.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]

import bench_http  # noqa: E402
import bench_inproc  # noqa: E402
import bench_lighthouse  # noqa: E402
import bench_postgis  # noqa: E402
import bench_pygeoapi  # noqa: E402

from locator.config import Settings  # noqa: E402
from locator.crs import geodesic_km  # noqa: E402
from locator.service import Locator  # noqa: E402

README = ROOT / "README.md"
FIGURES_START, FIGURES_END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"
TARGETS = [
    # (figure path, comparison, target, what it means)
    ("inproc.real.nearest5.p50_us", "<=", 50, "nearest-5, 96 offices (µs, p50)"),
    ("inproc.real.within25.p50_us", "<=", 50, "within 25 km, 96 offices (µs, p50)"),
    ("inproc.real.responsible.p50_us", "<=", 50, "responsible, 96 offices (µs, p50)"),
    ("inproc.synthetic_1000000.nearest5.p50_us", "<=", 1000,
     "nearest-5, 1,000,000 points (µs, p50)"),
    ("inproc.responsible_key_at.p50_us", "<=", 1000,
     "responsible at any office count (µs, p50)"),
    ("http.nearest.vs_healthz", ">=", 0.8, "nearest throughput / healthz throughput"),
    ("http.within.vs_healthz", ">=", 0.8, "within throughput / healthz throughput"),
    ("http.responsible.vs_healthz", ">=", 0.8, "responsible throughput / healthz throughput"),
    ("http.page.vs_healthz", ">=", 0.5, "map page / throughput / healthz throughput"),
    ("http.list.vs_healthz", ">=", 0.5, "list page /liste throughput / healthz throughput"),
    ("http.ogc_items.vs_healthz", ">=", 0.8, "OGC items (bbox) throughput / healthz throughput"),
    ("http.errors", "==", 0, "non-2xx answers and socket errors under load"),
    ("pygeoapi.ours_over_pygeoapi", ">=", 3, "OGC items (bbox) / pygeoapi's, same query"),
    ("pygeoapi.errors", "==", 0, "errors or different features, OGC items vs pygeoapi"),
    ("lighthouse.index.scores.performance", ">=", 0.95, "Lighthouse mobile performance, /"),
    ("lighthouse.list.scores.performance", ">=", 0.95, "Lighthouse mobile performance, /liste"),
    ("lighthouse.index.cls", "<=", 0.05, "cumulative layout shift, /"),
    ("lighthouse.index.transferred_kb", "<=", 150, "first load of / before tiles (KB sent)"),
    ("startup.seconds", "<=", 2.0, "start-up to first answered /healthz (s)"),
    ("memory.max_worker_rss_mb", "<=", 200, "resident memory per worker (MB, VmRSS)"),
    ("bulk.records_per_s", ">=", 20000, "offline bulk geocoding (records/s)"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, within a minute")
    parser.add_argument("--write", action="store_true", help="write the figures into README.md")
    parser.add_argument("--json", type=Path, help="also write the JSON to this file")
    parser.add_argument("--profile", action="store_true", help="profile the query endpoints")
    parser.add_argument("--no-http", action="store_true", help="skip start-up, memory and wrk")
    parser.add_argument("--no-peer", action="store_true", help="skip the PostGIS peer")
    parser.add_argument("--no-pygeoapi", action="store_true", help="skip the pygeoapi peer")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip Lighthouse")
    args = parser.parse_args()
    quick = args.quick
    plan = {"rounds": 3 if quick else 5, "calls": 500 if quick else 2000,
            "wrk_s": 2 if quick else 4, "wrk_rounds": 1 if quick else 6,
            "wrk_warmup_s": 1 if quick else 2,
            "startups": 1 if quick else 3, "bulk_records": 100_000,
            "bulk_rounds": 1 if quick else 3, "peer_sets": ("real", "10000") if quick
            else ("real", "10000", "1000000")}
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
    started = time.perf_counter()
    figures: dict = {"machine": machine(), "plan": {**plan, "workers": workers, "quick": quick}}
    load_before = os.getloadavg()

    settings = Settings.from_env()
    say(f"loading the offices ({settings.offices_file.name}, {settings.areas_file.name})")
    locator = Locator.from_settings(settings)
    origins = bench_inproc.bavarian_origins(locator, plan["calls"])
    postcodes = bench_inproc.bavarian_postcodes(settings.postcodes_file)
    figures["data"] = {"offices": len(locator.offices), "districts": locator.areas.source,
                       "data_version": locator.data_version,
                       "origins": f"{len(origins)} random points in Bavaria (by district area)"}

    say("in-process queries: the real offices")
    inproc: dict = {"real": bench_inproc.real_offices(locator, origins, plan["rounds"])}
    inproc["responsible_key_at"] = bench_inproc.responsible_key_at(locator, origins,
                                                                   plan["rounds"])
    for n in (10_000, 1_000_000):
        say(f"in-process queries: {n:,} synthetic points")
        inproc[f"synthetic_{n}"] = bench_inproc.synthetic(settings.postcodes_file, n, origins,
                                                          plan["rounds"])
    figures["inproc"] = inproc

    with tempfile.TemporaryDirectory(prefix="locator-bench-") as tmp:
        work = Path(tmp)
        say(f"bulk geocoding: {plan['bulk_records']:,} records")
        figures["bulk"] = bench_inproc.bulk_geocoding(locator, settings.postcodes_file, work,
                                                      plan["bulk_records"], plan["bulk_rounds"])
        if args.no_http:
            figures["http"] = {"skipped": "--no-http"}
        elif not bench_http.wrk_available():
            figures["http"] = {"skipped": "wrk is not installed (apt-get install wrk)"}
            figures.update(startup_and_memory(workers, plan, None, work))
        else:
            figures.update(startup_and_memory(workers, plan, (origins, postcodes), work))
        if args.no_peer:
            figures["peer"] = {"skipped": "--no-peer"}
        elif reason := bench_postgis.why_unavailable():
            figures["peer"] = {"skipped": reason}
        else:
            say("PostGIS peer: the same queries")
            figures["peer"] = peer(locator, settings, origins, plan, inproc)
        if args.no_pygeoapi or args.no_http:
            figures["pygeoapi"] = {"skipped": "--no-pygeoapi" if args.no_pygeoapi
                                   else "--no-http"}
        else:
            say("pygeoapi peer: the same OGC API items query (its own venv)")
            figures["pygeoapi"] = bench_pygeoapi.compare(
                workers, seconds=plan["wrk_s"], rounds=max(2, plan["wrk_rounds"] // 2),
                work=work)
        if args.no_lighthouse:
            figures["lighthouse"] = {"skipped": "--no-lighthouse"}
        elif reason := bench_lighthouse.why_unavailable():
            figures["lighthouse"] = {"skipped": reason}
        else:
            say("Lighthouse: / and /liste, mobile preset, offline")
            figures["lighthouse"] = bench_lighthouse.run(work, workers)
        if args.profile:
            figures["profile"] = profile_endpoints(origins)

    figures["machine"]["load_average"] = {"before": [round(x, 2) for x in load_before],
                                          "after": [round(x, 2) for x in os.getloadavg()]}
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["targets"] = check_targets(figures)
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(table(figures), file=sys.stderr)
    if args.write:
        write_readme(figures)
        say(f"wrote the figures into {README.relative_to(ROOT)}")
    return 0


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory_gb = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    from importlib.metadata import version

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu,
        "cores": os.cpu_count(), "memory_gb": memory_gb, "os": platform.platform(),
        "python": platform.python_version(), "commit": commit,
        "versions": {name: version(name) for name in
                     ("numpy", "scipy", "shapely", "pyproj", "flask", "gunicorn")},
    }


def startup_and_memory(workers: int, plan: dict, load: tuple | None, work: Path) -> dict:
    say(f"start-up: {plan['startups']} fresh start(s) with {workers} workers")
    out: dict = {"startup": bench_http.startup(workers, plan["startups"])}
    server = bench_http.start_server(workers)
    try:
        server.wait_for_workers()
        idle = bench_http.memory(server)
        if load is not None:
            origins, postcodes = load
            queries = bench_http.origin_queries(origins, postcodes, 1000)
            connections = 4 * workers
            say(f"wrk: {len(bench_http.ENDPOINTS)} endpoints × {plan['wrk_rounds']} round(s) × "
                f"{plan['wrk_s']} s, {connections} connections")
            http = bench_http.throughput(server, queries, work, seconds=plan["wrk_s"],
                                         rounds=plan["wrk_rounds"], connections=connections,
                                         warmup_s=plan["wrk_warmup_s"])
            http["errors"] = sum(v["non_2xx"] + v["socket_errors"]
                                 for k, v in http.items() if not k.startswith("_"))
            http["setup"] = (f"wrk -t2 -c{connections} --latency, Connection: close, "
                             f"{len(queries)} random origins (2/3 lat/lon, 1/3 postcode), "
                             f"each endpoint warmed up for {plan['wrk_warmup_s']} s first; "
                             f"gunicorn {workers} sync workers, access log to /dev/null")
            out["http"] = http
        loaded = bench_http.memory(server)
    finally:
        server.stop()
        server.cleanup()
    rss = loaded["worker_rss_mb"] + idle["worker_rss_mb"]
    out["memory"] = {"idle": idle, "after_load": loaded,
                     "max_worker_rss_mb": max(rss) if rss else None}
    return out


def peer(locator: Locator, settings: Settings, origins: list, plan: dict, inproc: dict) -> dict:
    sets = {}
    offices = locator.offices
    sets["real"] = (list(offices["id"]), offices["lat"].to_numpy(), offices["lon"].to_numpy())
    for name in plan["peer_sets"]:
        if name != "real":
            xy = bench_inproc.synthetic_points(settings.postcodes_file, int(name))
            sets[name] = bench_postgis.synthetic_lat_lon(xy)
    try:
        measured = bench_postgis.run_peer(sets, origins, min(plan["rounds"], 3))
    except Exception as err:  # a peer that cannot start is reported, not fatal
        return {"skipped": f"PostGIS did not run: {type(err).__name__}: {err}"}
    out: dict = {"versions": measured["versions"], "round_trip": measured["round_trip"],
                 "note": "PostGIS figures are client round trips over loopback with prepared "
                         "statements; round_trip is the bare 'SELECT 1' floor."}
    for name in sets:
        ours = inproc["real"] if name == "real" else inproc[f"synthetic_{name}"]
        theirs = measured[name]
        out[name] = {"load_s": theirs["load_s"]}
        for query in ("nearest5", "within25"):
            out[name][query] = {
                "postgis_p50_us": theirs[query]["p50_us"],
                "postgis_p99_us": theirs[query]["p99_us"],
                "locator_p50_us": ours[query]["p50_us"], "locator_p99_us": ours[query]["p99_us"],
                "postgis_over_locator_p50": round(theirs[query]["p50_us"]
                                                  / max(ours[query]["p50_us"], 0.1), 1),
                # Without the bare round trip: what the query costs inside PostgreSQL.
                "postgis_minus_round_trip_p50_us": round(max(
                    theirs[query]["p50_us"] - measured["round_trip"]["p50_us"], 0.0), 1),
            }
            out[name][query]["postgis_minus_round_trip_over_locator_p50"] = round(
                out[name][query]["postgis_minus_round_trip_p50_us"]
                / max(ours[query]["p50_us"], 0.1), 1)
    out["real"]["agreement"] = agreement(locator, origins, measured["real"]["answers"])
    return out


def agreement(locator: Locator, origins: list, answers: dict) -> dict:
    """How often PostGIS (geodesic) and the locator (projected) name the same offices; any
    difference must lie in the 0.2 % band of the projection or be a tie."""
    point = {o.id: (o.lat, o.lon) for o in locator.offices.itertuples()}
    same = {"nearest5": 0, "within25": 0}
    explained = {"nearest5": 0, "within25": 0}
    for (lat, lon), near, within in zip(origins, answers["nearest5"], answers["within25"],
                                        strict=True):
        origin = locator.locate(lat=lat, lon=lon)
        ours = {"nearest5": {h.office_id for h in locator.nearest(origin, 5).hits},
                "within25": {h.office_id for h in locator.within(origin, 25.0).hits}}
        theirs = {"nearest5": {r[0] for r in near}, "within25": {r[0] for r in within}}
        for query in same:
            if ours[query] == theirs[query]:
                same[query] += 1
                continue
            differing = ours[query] ^ theirs[query]
            km = [float(geodesic_km(lat, lon, *point[i])) for i in differing]
            edge = 25.0 if query == "within25" else max(r[1] for r in near) / 1000.0
            if all(abs(d - edge) <= 0.002 * edge + 1e-3 for d in km):
                explained[query] += 1
    n = len(origins)
    return {q: {"same": same[q], "of": n, "differ_only_at_the_0.2%_edge_or_a_tie": explained[q]}
            for q in same}


def profile_endpoints(origins: list) -> dict:
    """pyinstrument over 1,000 in-process requests per query endpoint; the text goes to stderr."""
    from pyinstrument import Profiler

    from locator import create_app

    app = create_app()
    client = app.test_client()
    out = {}
    for name in ("healthz", *bench_http.QUERY_ENDPOINTS):
        paths = [bench_http.ENDPOINTS[name].format(origin=f"lat={lat}&lon={lon}")
                 for lat, lon in origins[:1000]]
        for path in paths[:100]:
            client.get(path)
        profiler = Profiler(interval=0.0002)
        t0 = time.perf_counter()
        with profiler:
            for path in paths:
                client.get(path)
        out[name] = {"us_per_request_profiled": round((time.perf_counter() - t0) / len(paths)
                                                      * 1e6)}
        say(f"profile of {name}:\n" + profiler.output_text(unicode=True, color=False))
    return out


# --- targets, table, README ---------------------------------------------------------------------

def lookup(figures: dict, path: str):
    node = figures
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_targets(figures: dict) -> list[dict]:
    results = []
    for path, op, target, meaning in TARGETS:
        value = lookup(figures, path)
        met = None if value is None else {"<=": value <= target, ">=": value >= target,
                                          "==": value == target}[op]
        results.append({"figure": path, "meaning": meaning, "value": value,
                        "target": f"{op} {target}", "met": met})
    return results


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value < 10:
            return f"{value:,.2f}"
        return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(figures: dict) -> str:
    """The figures as Markdown tables: readable in a terminal and in the README."""
    m = figures["machine"]
    lines = [f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores, {m['memory_gb']} GB), "
             f"Python {m['python']}, commit {m['commit']}"
             f"{' (--quick)' if figures['plan']['quick'] else ''}; load average before/after "
             f"{m['load_average']['before'][0]}/{m['load_average']['after'][0]}. "
             f"Offices: {figures['data']['offices']}, districts: {figures['data']['districts']}.",
             "", "| Target | Figure | Target | Met |", "|---|---:|---:|:---:|"]
    for t in figures["targets"]:
        met = "–" if t["met"] is None else "yes" if t["met"] else "**no**"
        lines.append(f"| {t['meaning']} | {_fmt(t['value'])} | {t['target']} | {met} |")

    inproc = figures["inproc"]
    lines += ["", "In-process query cost, µs per query (p50 / p99):", "",
              "| Points | nearest-5 | within 25 km (mean hits) | responsible |",
              "|---:|---:|---:|---:|"]
    key_at = inproc["responsible_key_at"]
    for name, label in (("real", f"{inproc['real']['offices']} offices (Locator)"),
                        ("synthetic_10000", "10,000 (PointIndex)"),
                        ("synthetic_1000000", "1,000,000 (PointIndex)")):
        row = inproc[name]
        resp = row.get("responsible", key_at)
        lines.append(f"| {label} | {_fmt(row['nearest5']['p50_us'])} / "
                     f"{_fmt(row['nearest5']['p99_us'])} | {_fmt(row['within25']['p50_us'])} / "
                     f"{_fmt(row['within25']['p99_us'])} ({_fmt(row['within25_mean_hits'])}) | "
                     f"{_fmt(resp['p50_us'])} / {_fmt(resp['p99_us'])} |")
    lines.append(f"\nresponsible at 10,000 and 1,000,000 is DistrictAreas.key_at, which does not "
                 f"depend on the office count. Building the 1,000,000-point index: "
                 f"{inproc['synthetic_1000000']['build_s']} s.")

    http = figures.get("http", {})
    if "skipped" in http:
        lines += ["", f"HTTP: skipped ({http['skipped']})."]
    elif http:
        lines += ["", f"HTTP on 127.0.0.1 ({http['setup']}):", "",
                  "| Endpoint | requests/s | × healthz | p50 ms | p99 ms | non-2xx "
                  "| socket errors | worker CPU µs/request | × healthz by CPU |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name in bench_http.ENDPOINTS:
            r = http[name]
            lines.append(f"| {name} | {_fmt(r['requests_per_s'])} | {r['vs_healthz']:.2f} | "
                         f"{_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | {r['non_2xx']} | "
                         f"{r['socket_errors']} | {_fmt(r['worker_cpu_us_per_request'])} | "
                         f"{r['cpu_vs_healthz']:.2f} |")
        spread = "; ".join(f"{name} {', '.join(f'{x:.2f}' for x in http[name]['runs_vs_healthz'])}"
                           for name in bench_http.QUERY_ENDPOINTS)
        lines.append("\nrequests/s and latencies are medians over the rounds; × healthz is the "
                     "median of each round's ratio to the /healthz run of that round (per "
                     f"round: {spread}). Worker CPU "
                     "per request comes from /proc/<pid>/stat of the workers around each wrk "
                     "run: unlike requests/s it hardly moves with other load on the machine.")
    if "startup" in figures:
        mem = figures["memory"]
        lines += ["", f"Start-up to first answered /healthz: {figures['startup']['seconds']} s "
                      f"(runs {figures['startup']['runs']}, {figures['startup']['workers']} "
                      f"workers). Memory after load: workers VmRSS "
                      f"{mem['after_load']['worker_rss_mb']} MB, PSS "
                      f"{mem['after_load']['worker_pss_mb']} MB (shared pages split), master "
                      f"{mem['after_load']['master_rss_mb']} MB."]
    bulk = figures["bulk"]
    lines += ["", f"Bulk geocoding: {bulk['records']:,} records in {bulk['seconds']} s = "
                  f"{bulk['records_per_s']:,} records/s ({bulk['measured']}); statuses "
                  f"{bulk['statuses']}."]
    peer_figures = figures.get("peer", {})
    if "skipped" in peer_figures:
        lines += ["", f"PostGIS peer: skipped ({peer_figures['skipped']})."]
    elif peer_figures:
        v = peer_figures["versions"]
        lines += ["", f"Side by side with PostGIS {v['postgis']} ({v['postgresql']}), µs per "
                      f"query p50 (p99); PostGIS is a loopback round trip (bare 'SELECT 1': "
                      f"{_fmt(peer_figures['round_trip']['p50_us'])} µs):", "",
                  "| Points | query | locator | PostGIS | PostGIS / locator | PostGIS − round "
                  "trip | that / locator |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        for name in ("real", "10000", "1000000"):
            if name not in peer_figures:
                continue
            label = f"{figures['data']['offices']} offices" if name == "real" else f"{int(name):,}"
            for query in ("nearest5", "within25"):
                q = peer_figures[name][query]
                lines.append(f"| {label} | {query} | {_fmt(q['locator_p50_us'])} "
                             f"({_fmt(q['locator_p99_us'])}) | {_fmt(q['postgis_p50_us'])} "
                             f"({_fmt(q['postgis_p99_us'])}) | "
                             f"{q['postgis_over_locator_p50']} | "
                             f"{_fmt(q['postgis_minus_round_trip_p50_us'])} | "
                             f"{q['postgis_minus_round_trip_over_locator_p50']} |")
        lines.append("\nThe round trip is a wake-up of two processes on this VM: it took 30 µs "
                     "when the machine was busy and 150–170 µs when it was idle, so the "
                     "column without it is the fairer comparison.")
        agree = peer_figures["real"]["agreement"]
        lines.append("\nSame offices as PostGIS (geodesic): " + "; ".join(
            f"{q} {a['same']}/{a['of']} (the rest differ only at the 0.2 % edge or a tie: "
            f"{a['differ_only_at_the_0.2%_edge_or_a_tie']})" for q, a in agree.items()) + ".")
    lines += pygeoapi_lines(figures.get("pygeoapi", {}))
    lines += lighthouse_table(figures.get("lighthouse", {}))
    return "\n".join(lines)


def lighthouse_table(lh: dict) -> list[str]:
    """The widget's pages as Lighthouse sees them on a phone."""
    if "skipped" in lh:
        return ["", f"Lighthouse: skipped ({lh['skipped']})."]
    if not lh:
        return []
    lines = ["", "Lighthouse 12.2.3, mobile preset (simulated slow 4G, a phone's screen), "
                 "offline with a tile stub; transferred = the first load without tiles:", "",
             "| Page | performance | accessibility | best practices | SEO | LCP ms | FCP ms "
             "| TBT ms | CLS | transferred KB | requests | DOM elements | CPU slowdown |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, path in bench_lighthouse.PAGES.items():
        r = lh[name]
        sc = r["scores"]
        lines.append(f"| {path} | {sc['performance']} | {sc['accessibility']} | "
                     f"{sc['best-practices']} | {sc['seo']} | {r['lcp_ms']} | {r['fcp_ms']} | "
                     f"{r['tbt_ms']} | {r['cls']} | {r['transferred_kb']} | {r['requests']} | "
                     f"{r['dom_elements']} | {r['cpu_slowdown']}× |")
    lines.append("\nThe CPU slowdown is Lighthouse's 4× unless this machine's benchmark index "
                 "was too low for it; then index / 264 (tests/lighthouse.py says why).")
    return lines


def pygeoapi_lines(p: dict) -> list[str]:
    if not p:
        return []
    if "skipped" in p:
        return ["", f"pygeoapi peer: skipped ({p['skipped']})."]
    return ["", f"OGC API – Features side by side with pygeoapi {p['pygeoapi']} (its GeoJSON "
                f"provider over the same {p['query'].split(',')[0]}, gunicorn {p['workers']} "
                f"sync workers each, wrk as above, alternating rounds; same features: "
                f"{'yes' if p['same_features'] else '**no**'}):", "",
            "| Server | requests/s | p50 ms | errors |", "|---|---:|---:|---:|",
            f"| locator /ogc | {_fmt(p['ours']['requests_per_s'])} | "
            f"{_fmt(p['ours']['p50_ms'])} | {p['ours']['errors']} |",
            f"| pygeoapi | {_fmt(p['theirs']['requests_per_s'])} | "
            f"{_fmt(p['theirs']['p50_ms'])} | {p['theirs']['errors']} |",
            "", f"Query: {p['query']}. Locator / pygeoapi per round: "
                f"{', '.join(f'{r:.2f}' for r in p['ratios'])}; median "
                f"{p['ours_over_pygeoapi']:.2f}."]


def write_readme(figures: dict) -> None:
    """Replace the README's figures block (inside the bench section) with this run's table."""
    text = README.read_text(encoding="utf-8")
    start, end = text.find(FIGURES_START), text.find(FIGURES_END)
    bench_start, bench_end = text.find("<!-- bench:start -->"), text.find("<!-- bench:end -->")
    if not (0 <= bench_start < start < end < bench_end):
        raise SystemExit(f"README.md has no {FIGURES_START} … {FIGURES_END} block inside "
                         "<!-- bench:start --> … <!-- bench:end -->")
    block = f"{FIGURES_START}\n{table(figures)}\n{FIGURES_END}"
    text = text[:start] + block + text[end + len(FIGURES_END):]
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
