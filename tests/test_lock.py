"""scripts/requirements.lock pins every run-time dependency of pyproject.toml, within its
range, with hashes; what is installed is what the lock says (scripts/setup, scripts/lock)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "scripts" / "requirements.lock"
_ENTRY = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked() -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} of the lock's entries for this interpreter."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _ENTRY.match(line)
        if match:
            applies = match.group(3) is None or Marker(match.group(3)).evaluate()
            name = canonicalize_name(match.group(1)) if applies else None
            if name:
                entries[name] = (match.group(2), [])
        elif name and line.strip().startswith("--hash=sha256:"):
            entries[name][1].append(line.strip())
    return entries


def test_every_dependency_is_pinned_within_its_range_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entries = locked()
    assert len(entries) >= 20
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        pinned, hashes = entries[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned, prereleases=True), (spec, pinned)
        assert hashes, requirement.name
    assert all(hashes for _, hashes in entries.values())


def test_the_installed_run_time_packages_are_the_locked_ones():
    mismatched = {name: (pinned, version(name)) for name, (pinned, _) in locked().items()
                  if version(name) != pinned}
    assert mismatched == {}
