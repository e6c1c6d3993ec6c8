"""Shared fixtures (flaskr style): settings, locator, app, client, runner."""

from __future__ import annotations

import pytest

from locator import create_app
from locator.config import Settings
from locator.service import Locator
from locator.state import LocatorState


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
