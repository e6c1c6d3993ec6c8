"""The ``locator`` command: serve, check the data, bulk-geocode staff's office lists."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from .config import Settings
from .errors import LocatorError

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
# Show a progress bar on a terminal, or in a log when the run takes minutes (online).
PROGRESS_MIN_ONLINE_RECORDS = 30


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    # Unknown options of `serve` go to gunicorn (--workers 4); elsewhere they are mistakes.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args.run(args)
    except LocatorError as err:
        print(f"error: {err.detail}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locator", description="KoKi locator: serve the API, check the data, geocode "
                                    "office lists. Settings come from LOCATOR_* variables.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="serve the API with gunicorn on $HOST:$PORT",
        description="Serve the API with gunicorn on $HOST:$PORT (default 127.0.0.1:8000); "
                    "further arguments go to gunicorn, e.g. --workers 4.")
    serve.set_defaults(run=_serve)

    check = commands.add_parser(
        "check", help="load and validate every data file; how complete the contacts are",
        description="Load and validate every data file, then summarise the office contacts: "
                    "how many have an address, phone, e-mail, website and hours, whose contact "
                    "they are, and the oldest checked_on.")
    check.add_argument("--older-than", type=float, metavar="YEARS",
                       help="list the offices whose facts were checked more than YEARS ago "
                            "(the yearly review)")
    check.set_defaults(run=_check)

    geocode = commands.add_parser(
        "geocode", help="geocode a spreadsheet of offices (.csv or .xlsx)",
        description="Give each record of INPUT coordinates, a precision, its district and a "
                    "status (ok, not_found, invalid, conflict); write OUTPUT (.csv or .geojson).")
    geocode.add_argument("input", type=Path, metavar="INPUT")
    geocode.add_argument("--output", "-o", type=Path, required=True, metavar="OUTPUT")
    geocode.add_argument("--geocoder", metavar="NAME",
                         help="offline (default: $LOCATOR_GEOCODER) or a geopy geocoder name, "
                              "e.g. nominatim")
    geocode.add_argument("--merge", action="store_true",
                         help="add the ok records to the office data ($LOCATOR_OFFICES_FILE)")
    geocode.add_argument("--dry-run", action="store_true",
                         help="show what would be written and merged, write nothing")
    geocode.set_defaults(run=_geocode)

    proxy = commands.add_parser(
        "nginx-config", help="print the nginx configuration for gunicorn on a Unix socket",
        description="Print nginx.conf for the production stack: nginx on --listen in front of "
                    "gunicorn on --socket (see README, Deploying).")
    proxy.add_argument("--listen", default=None, metavar="ADDRESS",
                       help="HOST:PORT nginx listens on (default: $HOST:$PORT or "
                            "127.0.0.1:8000)")
    proxy.add_argument("--socket", type=Path, required=True, metavar="PATH",
                       help="gunicorn's Unix socket (gunicorn --bind unix:PATH)")
    proxy.add_argument("--run-dir", type=Path, required=True, metavar="DIR",
                       help="nginx's pid file and temp directories")
    proxy.add_argument("--access-log", default="", metavar="FILE",
                       help="default: RUN_DIR/access.log; /dev/stdout works too")
    proxy.add_argument("--error-log", default="", metavar="FILE",
                       help="default: RUN_DIR/error.log; stderr works too")
    proxy.add_argument("--user", default="www-data",
                       help="user of nginx's workers when it starts as root (default www-data)")
    proxy.add_argument("--search-rate", type=int, default=10, metavar="N",
                       help="searches per second and client address (default 10)")
    proxy.add_argument("--search-burst", type=int, default=20, metavar="N",
                       help="searches a client may make at once beyond the rate (default 20)")
    proxy.add_argument("--tls-certificate", type=Path, metavar="FILE",
                       help="serve HTTPS with this certificate chain (with --tls-key)")
    proxy.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key")
    proxy.set_defaults(run=_nginx_config)
    return parser


def _serve(args) -> int:
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    extra = [a for a in args.extra if a != "--"]
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:locator.gunicorn_conf",
            "--bind", f"{host}:{port}", *extra, "locator:create_app()"]
    os.execv(sys.executable, argv)
    return EXIT_ERROR  # not reached


def _nginx_config(args) -> int:
    from .deploy.nginx import ProxyConfig, render

    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    listen = args.listen or f"{host}:{port}"
    try:
        text = render(ProxyConfig(
            listen=listen, socket=args.socket.absolute(), run_dir=args.run_dir.absolute(),
            access_log=args.access_log, error_log=args.error_log, user=args.user,
            search_rate_per_s=args.search_rate, search_burst=args.search_burst,
            tls_certificate=args.tls_certificate, tls_certificate_key=args.tls_key))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(text, end="")
    return EXIT_OK


def _check(args) -> int:
    from . import completeness
    from .offices import split_sources
    from .service import Locator

    settings = Settings.from_env()
    started = time.perf_counter()
    locator = Locator.from_settings(settings)
    districts = locator.offices["district_ags"].nunique()
    precisions = locator.offices["location_precision"].value_counts().to_dict()
    print(f"offices      {settings.offices_file}: {len(locator.offices)} offices in "
          f"{districts} of {len(locator.districts)} districts "
          f"({', '.join(f'{k} {v}' for k, v in sorted(precisions.items()))})")
    print(f"districts    {settings.district_names_file}: {len(locator.districts)}")
    counts = locator.gazetteer.counts()
    print(f"postcodes    {settings.postcodes_file}: {counts['postcodes']} postcodes, "
          f"{counts['places']} places")
    print(f"areas        {settings.areas_file}: {locator.areas.source}")
    print(f"data version {locator.data_version}, loaded in "
          f"{time.perf_counter() - started:.1f} s: all checks passed")
    offices = locator.offices.drop(columns="geometry").sort_values("line").to_dict("records")
    print("\n".join(completeness.summary_lines(offices)))
    if args.older_than is not None:
        if not args.older_than > 0:
            print("error: --older-than needs a number of years above 0", file=sys.stderr)
            return EXIT_ERROR
        old = completeness.older_than(offices, args.older_than, dt.date.today())
        print(f"checked more than {args.older_than:g} year(s) ago: {len(old)} office(s)")
        for o in old:
            print(f"  {o['checked_on']}  {o['id']}  {split_sources(o['sources'])[0]}")
    return EXIT_OK


def _geocode(args) -> int:
    from .bulk import geocode_records, summarise
    from .districts import DistrictAreas, load_bavarian_districts
    from .gazetteer import Gazetteer
    from .geocoding import OFFLINE, OnlineGeocoder, build_geocoder
    from .merge import merge_offices
    from .service import Locator
    from .sheets import read_sheet, write_output

    settings = Settings.from_env()
    name = (args.geocoder or settings.geocoder).strip().lower()
    sheet = read_sheet(args.input)
    # Checked before geocoding: an online run takes hours, a typo must not waste them.
    if args.output.suffix.lower() not in (".csv", ".geojson", ".json"):
        print(f"error: {args.output}: the output must end in .csv or .geojson", file=sys.stderr)
        return EXIT_ERROR
    folder = args.output.resolve().parent
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        print(f"error: {args.output}: cannot write into {folder}", file=sys.stderr)
        return EXIT_ERROR
    locator = areas = None
    if args.merge:
        locator = Locator.from_settings(settings)
        gazetteer, areas = locator.gazetteer, locator.areas
    else:
        districts = load_bavarian_districts(settings.district_names_file)
        gazetteer = Gazetteer.load(settings.postcodes_file,
                                   district_names={a: d.name for a, d in districts.items()})
        if name != OFFLINE:  # online points get their district from the areas
            areas = DistrictAreas.from_file(settings.areas_file,
                                            ags_column=settings.districts_ags_column,
                                            official=settings.districts_file is not None)
    geocoder = build_geocoder(settings, gazetteer, name=name)
    online = isinstance(geocoder, OnlineGeocoder)
    started = time.perf_counter()
    bar = _progress(len(sheet.rows), online)
    try:
        results = geocode_records(sheet.rows, geocoder, areas=areas, roles=sheet.roles,
                                  problems=sheet.problems, progress=bar.update)
    except KeyboardInterrupt:
        bar.close()
        where = f" (answers so far are kept in {geocoder.cache.path})" if online else ""
        print(f"\ninterrupted after {bar.n} of {len(sheet.rows)} records{where}; nothing was "
              "written. Run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        bar.close()
        if online and geocoder.cache is not None:
            geocoder.cache.close()
    elapsed = time.perf_counter() - started
    if args.dry_run:
        print(f"dry run: would write {len(results)} records to {args.output}")
    else:
        write_output(args.output, sheet.columns, results)
    _print_summary(sheet, results, args, name, elapsed, geocoder if online else None)
    print("\n".join(_summary_lines(summarise(results))))
    if args.merge:
        report = merge_offices(results, sheet, locator, offices_file=settings.offices_file,
                               dry_run=args.dry_run)
        print("\n".join(report.lines()))
    return EXIT_OK


def _progress(total: int, online: bool):
    from tqdm import tqdm

    show = sys.stderr.isatty() or (online and total >= PROGRESS_MIN_ONLINE_RECORDS)
    return tqdm(total=total, file=sys.stderr, unit="rec", disable=not show,
                mininterval=0.2 if sys.stderr.isatty() else 30.0, desc="geocoding")


def _print_summary(sheet, results, args, name: str, elapsed: float, online) -> None:
    rate = len(results) / elapsed if elapsed > 0 else float("inf")
    source = f"{sheet.encoding}, {'xlsx' if not sheet.delimiter else repr(sheet.delimiter)}"
    target = "(dry run)" if args.dry_run else f"→ {args.output}"
    print(f"{args.input} ({source}): {len(results)} records {target} "
          f"with {name} in {elapsed:.2f} s ({rate:,.0f}/s)")
    if online is not None:
        stats = online.stats
        print(f"  {name}: {stats['requests']} request(s), {stats['cached']} from the cache, "
              f"{stats['retried']} retried, {stats['fallback']} answered offline")


def _summary_lines(summary) -> list[str]:
    from .bulk import STATUSES

    statuses, precisions = summary["status"], summary["precision"]
    line = ", ".join(f"{s} {statuses.get(s, 0)}" for s in STATUSES)
    detail = ", ".join(f"{p} {n}" for p, n in sorted(precisions.items()))
    return [f"  {line}" + (f" (ok by precision: {detail})" if detail else "")]


if __name__ == "__main__":
    sys.exit(main())
