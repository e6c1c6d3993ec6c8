"""Objects a test session may take over from an earlier session of the same process, for
scripts/mutate only.

mutmut runs each mutant's tests in a session it forks from a process that has already run
the whole selection unmutated (its "stats" and clean runs). An object that session built (the
gazetteer, the session's Locator, the builder's seat offices) is taken over by a mutant's
session only when the mutant's module has no part in building it: built by the unmutated code,
it is exactly what that session would build. A mutant of one of the modules that builds it
builds its own. Outside scripts/mutate (no MUTANT_UNDER_TEST) nothing is kept or taken over.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# The core modules (locator/<name>.py) whose code runs while each object is built.
BUILT_BY = {
    "gazetteer": {"gazetteer"},
    "locator": {"service", "spatial", "districts", "gazetteer", "offices"},
    "seat_rows": {"districts", "gazetteer", "offices"},
}
_KEPT: dict[str, object] = {}


def mutant_module() -> str | None:
    """"merge" while mutmut runs the mutant "locator.merge.x__plan__mutmut_3"; else None."""
    parts = (os.environ.get("MUTANT_UNDER_TEST") or "").split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "locator" else None


def may_take_over(name: str) -> bool:
    module = mutant_module()
    return module is not None and module not in BUILT_BY[name]


def unmutated_run() -> bool:
    """mutmut's runs of the selection without a mutant: the stats run and the clean run."""
    return os.environ.get("MUTANT_UNDER_TEST") in ("stats", "")


def shared(name: str, build: Callable[[], T]) -> T:
    if name in _KEPT and may_take_over(name):
        return _KEPT[name]  # type: ignore[return-value]
    value = build()
    if unmutated_run():
        _KEPT[name] = value
    return value
