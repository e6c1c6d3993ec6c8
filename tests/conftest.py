"""Shared fixtures (flaskr style): settings, locator, app, client, runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_loader import load_script

from locator import create_app
from locator.config import REPO_GEODATA, Settings
from locator.gazetteer import Gazetteer
from locator.offices import OFFICE_COLUMNS
from locator.service import Locator
from locator.state import LocatorState
from locator.storage import write_csv_atomically


def pytest_sessionstart(session):
    # Gazetteer.load keeps the last gazetteer of the process; a session (under scripts/mutate:
    # each mutant's) builds its own, so a mutant of the gazetteer's loading is really run.
    Gazetteer.forget_loaded()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings of the embedded data, ignoring any LOCATOR_* of the developer's shell."""
    return Settings.from_env({})


@pytest.fixture(scope="session")
def locator(settings: Settings) -> Locator:
    """The real Locator over the embedded data, loaded once for the whole session."""
    return Locator.from_settings(settings)


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
    rows = load_script("build_offices").build(REPO_GEODATA, contacts_dir=empty)
    path = tmp_path_factory.mktemp("seat-offices") / "offices.csv"
    write_csv_atomically(path, list(OFFICE_COLUMNS), rows)
    return path
