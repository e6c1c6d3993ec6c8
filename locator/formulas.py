"""CSV formula injection (CWE-1236): cells a spreadsheet would run as a formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula: ``=HYPERLINK(...)`` leaks data on a click,
``=cmd|' /C calc'!A0`` starts a program through DDE. Exports meant for spreadsheets neutralise
such cells as OWASP recommends (a leading apostrophe: the cell is text); the office data
refuses them (locator/offices.py). A plain number or phone number ("+49 9561 514-0", "-12.5")
stays as it is: digits, spaces and ()/.,- call no function and open no channel, and an
apostrophe would corrupt it.
"""

from __future__ import annotations

import re

FORMULA_START = frozenset("=+-@\t\r")
_NUMBER_OR_PHONE = re.compile(r"[+-]?[0-9][0-9 ()/.,\-]*")


def starts_formula(text: str) -> bool:
    """Would a spreadsheet read this cell as a formula that can do harm?"""
    return text[:1] in FORMULA_START and not _NUMBER_OR_PHONE.fullmatch(text)


def spreadsheet_cell(text: str) -> str:
    """The cell as a spreadsheet shows it as text, never runs it (OWASP: prefix an apostrophe)."""
    return "'" + text if starts_formula(text) else text
