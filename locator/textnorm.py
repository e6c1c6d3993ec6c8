"""German place-name normalisation, so that "Würzburg", "wurzburg" and "WUERZBURG" meet."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Umlauts written as two letters ("Wuerzburg") and without dots ("Wurzburg") must both match
# "Würzburg": fold ä/ae → a, ö/oe → o, ü/ue → u on both sides of every comparison. The rare
# real "ue"/"oe" in a name (Itzehoe) folds the same way in the index and the query.
_DIGRAPHS = re.compile(r"(?<=[a-z])([aou])e")
# Official abbreviations of Bavarian place names ("Neumarkt i.d.OPf.", "Neustadt b. Coburg",
# "Mühldorf a.Inn", "St. Englmar") mapped to one canonical token each.
_TOKEN_ALIASES = {
    "a": "a", "am": "a", "an": "a",
    "i": "i", "im": "i", "in": "i",
    "b": "b", "bei": "b",
    "d": "d", "der": "d", "dem": "d", "den": "d",
    "st": "sankt", "sankt": "sankt",
    "opf": "oberpfalz",
    "ofr": "oberfranken",
    "ufr": "unterfranken",
    "mfr": "mittelfranken",
    "obb": "oberbayern",
    "ndb": "niederbayern",
    "schw": "schwaben",
    "bay": "bayern",
}


def fold(text: str) -> str:
    """Lower case, no accents, ß → ss, umlaut digraphs folded, punctuation → single spaces."""
    text = text.replace("ß", "ss").replace("ẞ", "ss")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _NON_ALNUM.sub(" ", text)
    return _DIGRAPHS.sub(r"\1", text).strip()


def place_key(name: str) -> str:
    """Canonical key of a place name: folded, abbreviations unified ("b." = "bei")."""
    return " ".join(_TOKEN_ALIASES.get(tok, tok) for tok in fold(name).split())


def prefix_key(text: str) -> str:
    """Key for type-ahead prefixes: folded, but the last (unfinished) token left as typed."""
    tokens = fold(text).split()
    if not tokens:
        return ""
    head = [_TOKEN_ALIASES.get(tok, tok) for tok in tokens[:-1]]
    return " ".join([*head, tokens[-1]])
