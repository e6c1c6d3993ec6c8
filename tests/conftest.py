"""Shared fixtures (flaskr style): settings, locator, app, client, runner."""

from __future__ import annotations

import locale
import os
from pathlib import Path

import mutation_reuse
import pytest
from script_loader import load_script

from locator import create_app
from locator.config import REPO_GEODATA, Settings
from locator.districts import load_bavarian_districts
from locator.gazetteer import Gazetteer
from locator.offices import OFFICE_COLUMNS
from locator.service import Locator
from locator.state import LocatorState
from locator.storage import write_csv_atomically


def pytest_sessionstart(session):
    # Gazetteer.load keeps the last gazetteer of the process; a test run builds its own.
    # Under scripts/mutate a mutant outside gazetteer.py keeps the one its session inherits
    # (tests/mutation_reuse.py says why that is sound).
    if not mutation_reuse.may_take_over("gazetteer"):
        Gazetteer.forget_loaded()


def pytest_sessionfinish(session):
    # mutmut's own runs of the selection ("stats", the clean run "", the forced failure "fail")
    # leave the process holding the shipped data's gazetteer for the mutants' runs it forks.
    # "" while loading: the unmutated code, whatever run this was.
    mutant = os.environ.get("MUTANT_UNDER_TEST")
    if mutant in ("stats", "", "fail"):
        settings = Settings.from_env({})
        os.environ["MUTANT_UNDER_TEST"] = ""
        try:
            districts = load_bavarian_districts(settings.district_names_file)
            Gazetteer.load(settings.postcodes_file,
                           district_names={a: d.name for a, d in districts.items()})
        finally:
            os.environ["MUTANT_UNDER_TEST"] = mutant


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings of the embedded data, ignoring any LOCATOR_* of the developer's shell."""
    return Settings.from_env({})


@pytest.fixture(scope="session")
def locator(settings: Settings) -> Locator:
    """The real Locator over the embedded data, loaded once for the whole session."""
    return mutation_reuse.shared("locator", lambda: Locator.from_settings(settings))


@pytest.fixture(scope="session")
def state(settings: Settings, locator: Locator) -> LocatorState:
    return LocatorState(settings, locator)


@pytest.fixture
def app(state: LocatorState):
    app = create_app({"TESTING": True, "LOCATOR_STATE": state})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def seat_offices(tmp_path_factory) -> Path:
    """offices.csv as the builder makes it without research: every office at its district's
    seat, no contacts. Merge tests start from it, whatever the research has found since."""
    empty = tmp_path_factory.mktemp("no-research")
    rows = mutation_reuse.shared(
        "seat_rows", lambda: load_script("build_offices").build(REPO_GEODATA, contacts_dir=empty))
    path = tmp_path_factory.mktemp("seat-offices") / "offices.csv"
    write_csv_atomically(path, list(OFFICE_COLUMNS), rows)
    return path


@pytest.fixture
def ascii_locale():
    """A locale whose default encoding is not UTF-8 (a bare C locale, as cron and many service
    managers give; Windows' is cp1252): data files must be neither read nor written in it."""
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    yield
    locale.setlocale(locale.LC_CTYPE, before)
