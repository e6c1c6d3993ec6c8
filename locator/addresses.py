"""Addresses as people write them, split into street, postcode and city: "Lauterer Str. 60,
96450 Coburg", "Coburg 96450", {"street": …, "postcode": …}. No look-ups here: the gazetteer
resolves the parts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# ASCII digits to the very end: \d would take "９６４５０", $ a trailing newline.
POSTCODE_RE = re.compile(r"^[0-9]{5}\Z")
# "96450", "D-96450", "DE 96450", but not the 5 digits inside a longer number (a phone).
_POSTCODE_IN_TEXT = re.compile(r"(?<![\d-])(?:\bDE?[- ]?)?(\d{5})(?!\d)", re.IGNORECASE)
_POSTCODE_PREFIX = re.compile(r"^(?:D|DE)\s*-?\s*(?=\d)", re.IGNORECASE)
_STREETISH = re.compile(
    r"(\d|\bstr\b\.?|stra(ss|ß)e\b|str\.|(weg|platz|gasse|allee|ring|damm|ufer)$)", re.IGNORECASE
)
# Parts of a free-text address that name the country or state, not the town.
_NOT_A_TOWN = frozenset({"deutschland", "germany", "de", "d", "brd", "bayern", "bavaria"})


@dataclass(frozen=True, slots=True)
class AddressQuery:
    """A query split into its parts; any of them may be empty. The postcode is as given,
    without spaces or a "D-" prefix, so a malformed one can still be reported."""

    street: str = ""
    postcode: str = ""
    city: str = ""

    def __bool__(self) -> bool:
        return bool(self.street or self.postcode or self.city)


def clean_postcode(text: str) -> str:
    """"D-96450" or " 96 450 " → "96450"; anything else is returned stripped, for the caller
    to reject with POSTCODE_RE."""
    text = _POSTCODE_PREFIX.sub("", str(text).strip())
    compact = text.replace(" ", "")
    return compact if compact.isdigit() else text


def parse_query(query) -> AddressQuery:
    """Street, postcode and city from a dict (street/housenumber, postcode/postalcode,
    city/town) or from free text such as "Lauterer Str. 60, 96450 Coburg"."""
    if isinstance(query, AddressQuery):
        return query
    if isinstance(query, Mapping):
        street = " ".join(str(query.get("street") or "").split())
        number = str(query.get("housenumber") or query.get("house_number") or "").strip()
        if number:
            street = f"{street} {number}".strip()
        postcode = clean_postcode(query.get("postalcode") or query.get("postcode") or "")
        city = " ".join(str(query.get("city") or query.get("town") or "").split())
        return AddressQuery(street, postcode, city)
    text = " ".join(str(query).split())
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    parts = [p for p in parts if p.lower().strip(".") not in _NOT_A_TOWN]
    for i in range(len(parts) - 1, -1, -1):
        match = _POSTCODE_IN_TEXT.search(parts[i])
        if not match:
            continue
        before = parts[i][:match.start()].strip()
        city = parts[i][match.end():].strip()  # "96450 Coburg"
        if not city:  # "Coburg, 96450" or "Coburg 96450"
            towns = [p for p in parts[i + 1:] + parts[:i][::-1] if not _STREETISH.search(p)]
            if towns:
                city = towns[0]
            elif before and not _STREETISH.search(before):
                city, before = before, ""
        others = [p for j, p in enumerate(parts) if j != i and p != city]
        street = before or next((p for p in others if _STREETISH.search(p)), "") or next(
            iter(others), "")
        return AddressQuery(street, match.group(1), city)
    if len(parts) <= 1:
        # One part without a postcode is a place name, even "Mering" (it ends like a street).
        return AddressQuery("", "", parts[0] if parts else "")
    towns = [p for p in parts if not _STREETISH.search(p)]
    streets = [p for p in parts if _STREETISH.search(p)]
    if not towns:
        return AddressQuery(streets[0], "", streets[-1])
    return AddressQuery(streets[0] if streets else "", "", towns[-1])
