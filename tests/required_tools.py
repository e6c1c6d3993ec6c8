"""One rule for the tools tests drive (Chromium, nginx, Lighthouse): a missing one skips the
test with the command that installs it, except under CI=true, where the project's scripts have
installed everything and a missing tool fails the test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
