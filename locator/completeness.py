"""How complete and how old the office contact data is: for `locator check` and the table in
geodata/README.md (written by ``scripts/build_offices.py --report``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from .districts import load_bavarian_districts
from .offices import CONTACT_LEVELS, read_offices

README_MARKERS = ("<!-- completeness:start -->", "<!-- completeness:end -->")
# (label, test) for each fact a family needs; an address is a street with its postcode.
FACTS: tuple[tuple[str, str], ...] = (
    ("address", "Anschrift"), ("phone", "Telefon"), ("email", "E-Mail"),
    ("website", "Website"), ("hours", "Öffnungszeiten"),
)
LEVEL_WORDS = {"koki": "KoKi", "jugendamt": "Jugendamt", "verwaltung": "Verwaltung"}


def has(office: Mapping[str, object], fact: str) -> bool:
    """Whether the office carries the fact (``address``: street and postcode)."""
    if fact == "address":
        return bool(office.get("street") and office.get("postcode"))
    return bool(office.get("opening_hours" if fact == "hours" else fact))


def summary(offices: list[Mapping[str, object]]) -> dict:
    """Counts of each fact and contact level, and the oldest ``checked_on`` with its office."""
    dated = sorted((str(o["checked_on"]), str(o["id"])) for o in offices if o.get("checked_on"))
    return {
        "offices": len(offices),
        "facts": {fact: sum(has(o, fact) for o in offices) for fact, _ in FACTS},
        "levels": Counter(str(o.get("contact_level") or "") for o in offices),
        "oldest": dated[0] if dated else None,
        "undated": sum(not o.get("checked_on") for o in offices),
    }


def summary_lines(offices: list[Mapping[str, object]]) -> list[str]:
    """The completeness summary as `locator check` prints it."""
    s = summary(offices)
    facts = ", ".join(f"{fact} {s['facts'][fact]}" for fact, _ in FACTS)
    levels = ", ".join(f"{level} {s['levels'].get(level, 0)}" for level in CONTACT_LEVELS)
    oldest = (f"oldest checked_on {s['oldest'][0]} ({s['oldest'][1]})" if s["oldest"]
              else "no checked_on yet")
    return [f"contacts     {s['offices']} offices with {facts}",
            f"             contact level: {levels}, none {s['levels'].get('', 0)}",
            f"             {oldest}; {s['undated']} without sourced facts"]


def older_than(offices: Iterable[Mapping[str, object]], years: float,
               today: dt.date) -> list[Mapping[str, object]]:
    """Offices whose facts were checked more than ``years`` before ``today``, oldest first."""
    cutoff = (today - dt.timedelta(days=round(365.25 * years))).isoformat()
    return sorted((o for o in offices if o.get("checked_on") and str(o["checked_on"]) < cutoff),
                  key=lambda o: (str(o["checked_on"]), str(o["id"])))


def read_office_rows(path: Path) -> list[dict]:
    """The validated offices of ``path`` (districts from districts.csv beside it), as dicts."""
    districts = load_bavarian_districts(Path(path).parent / "districts.csv")
    offices = read_offices(Path(path), districts)
    return offices.drop(columns="geometry").sort_values("line").to_dict("records")


def completeness_markdown(offices: list[Mapping[str, object]]) -> str:
    """The per-district table (in the file's order) with a totals row, as Markdown."""
    mark = {True: "✓", False: "–"}
    head = ["Kreis", "Kontakt", *(label for _, label in FACTS), "Stand"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in offices:
        cells = [str(o["district_name"]), LEVEL_WORDS.get(str(o.get("contact_level")), "–"),
                 *(mark[has(o, fact)] for fact, _ in FACTS), str(o.get("checked_on") or "–")]
        lines.append("| " + " | ".join(cells) + " |")
    s = summary(offices)
    levels = ", ".join(f"{LEVEL_WORDS[level]} {s['levels'].get(level, 0)}"
                       for level in CONTACT_LEVELS)
    oldest = s["oldest"][0] if s["oldest"] else "–"
    lines.append("| " + " | ".join([f"**{s['offices']} Kreise**", levels,
                                    *(f"**{s['facts'][fact]}**" for fact, _ in FACTS),
                                    f"ältester {oldest}"]) + " |")
    return "\n".join(lines) + "\n"
