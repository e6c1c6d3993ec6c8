"""German place-name and address normalisation, so that "Würzburg", "wurzburg" and "WUERZBURG"
meet, and "Lauterer Str. 60" and "Lauterer Straße 60" are one address."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_COMBINING = re.compile("[\u0300-\u036f]")
# Umlauts written as two letters ("Wuerzburg") and without dots ("Wurzburg") must both match
# "Würzburg": fold ä/ae → a, ö/oe → o, ü/ue → u on both sides of every comparison. The rare
# real "ue"/"oe" in a name (Itzehoe) folds the same way in the index and the query.
# The "e" of such a digraph after a letter is dropped (a literal replacement: cheaper than a
# group template, and this runs for every name at start-up).
_DIGRAPH_E = re.compile(r"(?<=[a-z][aou])e")
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
# Tokens that join a town's name to its river or region: "Mühldorf am Inn" is also "Mühldorf",
# "Rothenburg ob der Tauber" "Rothenburg", "Neunburg vorm Wald" "Neunburg".
_CONNECTORS = frozenset({"a", "i", "b", "ob", "vorm"})
_PARENTHESES = re.compile(r"\s*\([^)]*\)")
# "Biburg, Gemeinde Gars am Inn": GeoNames names a hamlet together with its municipality.
_MUNICIPALITY_SUFFIX = re.compile(r",\s*(gemeinde|gem\.|markt|stadt)\b.*$", re.IGNORECASE)
# "Hauptstr.", "Hauptstrasse", "Lauterer Str." → one spelling of the street word.
_STREET_WORD = re.compile(r"(str|strasse)$")
_HOUSE_NUMBER = re.compile(
    r"^(?P<street>.*?\D)[\s,]*(?P<number>\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+\s*[a-zA-Z]?)?)\s*$"
)


def fold(text: str) -> str:
    """Lower case, no accents, ß → ss, umlaut digraphs folded, punctuation → single spaces."""
    text = text.replace("ß", "ss").replace("ẞ", "ss")
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = _NON_ALNUM.sub(" ", text.lower())
    return _DIGRAPH_E.sub("", text).strip()


def place_key(name: str) -> str:
    """Canonical key of a place name: folded, abbreviations unified ("b." = "bei")."""
    return " ".join([_TOKEN_ALIASES.get(tok, tok) for tok in fold(name).split()])


def prefix_key(text: str) -> str:
    """Key for type-ahead prefixes: folded, but the last (unfinished) token left as typed."""
    tokens = fold(text).split()
    if not tokens:
        return ""
    head = [_TOKEN_ALIASES.get(tok, tok) for tok in tokens[:-1]]
    return " ".join([*head, tokens[-1]])


def short_place_keys(name: str, full: str | None = None) -> list[str]:
    """Shorter keys a place is also known by: "Lindau (Bodensee)" → "lindau",
    "Mühldorf am Inn" → "muhldorf", "Biburg, Gemeinde Gars am Inn" → "biburg",
    "Bad Tölz" → "tolz", "Garmisch-Partenkirchen" → "garmisch" and "partenkirchen".
    ``full``: place_key(name), when the caller has it already."""
    full = place_key(name) if full is None else full
    bare = _MUNICIPALITY_SUFFIX.sub("", _PARENTHESES.sub("", name)).strip()
    forms = [place_key(bare)] if bare else []
    if "-" in bare:  # a merged municipality goes by each of its old names
        forms += [key for part in bare.split("-") if len(key := place_key(part)) >= 3]
    keys = []
    for form in forms:
        tokens = form.split()
        variants = [tokens, tokens[1:]] if tokens[:1] == ["bad"] and len(tokens) > 1 else [tokens]
        for tokens in variants:
            keys.append(" ".join(tokens))
            cut = next((i for i, tok in enumerate(tokens[1:], start=1) if tok in _CONNECTORS), 0)
            if cut:
                keys.append(" ".join(tokens[:cut]))
    return [k for k in dict.fromkeys(keys) if k and k != full]


def street_key(street: str) -> str:
    """Canonical key of a street with its number, spaces dropped: "Lauterer Str. 60" and
    "Lauterer Straße 60" and "Lautererstrasse 60" all give "lautererstrasse60"."""
    tokens = []
    for tok in fold(street).split():
        tok = _TOKEN_ALIASES.get(tok, tok) if tok == "st" else tok
        tokens.append(_STREET_WORD.sub("strasse", tok) if not tok.isdigit() else tok)
    return "".join(tokens)


def split_house_number(street: str) -> tuple[str, str]:
    """("Lauterer Str.", "60a") from "Lauterer Str. 60a"; ("Am Markt", "") without a number."""
    text = " ".join(street.split())
    match = _HOUSE_NUMBER.match(text)
    if not match:
        return text, ""
    return match["street"].rstrip(" ,"), match["number"].replace(" ", "")


def slug(text: str) -> str:
    """ASCII id, German transliteration: "Landkreis Mühldorf a.Inn" → landkreis-muehldorf-a-inn."""
    text = text.lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")
