"""Opening hours in OpenStreetMap's ``opening_hours`` syntax: validated with opening-hours-py,
turned once at load into a plain week (per weekday the open intervals) that the widget reads
without parsing OSM syntax, and into words ("Mo–Do 8:00–12:00")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import opening_hours

# Holidays come from the library's calendar for Germany (the nationwide ones: Bavaria's own,
# such as 15 August, are not in it); a day on which they change the hours becomes an exception.
COUNTRY = "DE"
# The week is read from this many days from the load date: a year, so that seasonal rules
# ("Jul-Aug off") and every holiday show up as exceptions.
HORIZON_DAYS = 371
# More exceptional days than this and the hours are not a weekly rhythm: no week is given,
# so nobody is told "open now" from a pattern the office does not keep.
MAX_EXCEPTIONS = 30

Interval = tuple[str, str]  # ("08:00", "12:00"), local time in Bavaria; "24:00" ends a day
Week = tuple[tuple[Interval, ...], ...]  # seven days, Monday first


def check_hours(text: str) -> str | None:
    """Why ``text`` is not valid OSM opening_hours, or None when it is."""
    try:
        opening_hours.OpeningHours(text, country=COUNTRY)
    except (opening_hours.ParserError, SyntaxError, ValueError) as err:
        return " ".join(str(err).split())
    return None


@lru_cache(maxsize=512)  # offices share a few schedules; a reload re-reads them all
def weekly(text: str, today: dt.date) -> tuple[Week | None, tuple[str, ...]]:
    """(the regular week, the ISO dates within a year from ``today`` that differ from it).

    The week is None when the hours are not a weekly rhythm: too many exceptions, or times
    the syntax leaves unknown or explained only in a comment ("nach Vereinbarung")."""
    hours = opening_hours.OpeningHours(text, country=COUNTRY)
    start = dt.datetime.combine(today, dt.time())
    end = start + dt.timedelta(days=HORIZON_DAYS)
    days: dict[dt.date, list[Interval]] = {
        (today + dt.timedelta(days=n)): [] for n in range(HORIZON_DAYS)}
    for begin, finish, state, comment in hours.intervals(start, end):
        if state == opening_hours.State.UNKNOWN or comment:
            return None, ()
        if state != opening_hours.State.OPEN:
            continue
        begin, finish = begin.replace(tzinfo=None), finish.replace(tzinfo=None)
        while begin < finish:  # split at midnight: each day gets its own part
            midnight = dt.datetime.combine(begin.date() + dt.timedelta(days=1), dt.time())
            stop = min(finish, midnight)
            if begin.date() in days:
                days[begin.date()].append((_hhmm(begin), "24:00" if stop == midnight
                                           else _hhmm(stop)))
            begin = stop
    by_weekday: list[Counter] = [Counter() for _ in range(7)]
    for day, intervals in days.items():
        by_weekday[day.weekday()][tuple(intervals)] += 1
    week = tuple(counts.most_common(1)[0][0] for counts in by_weekday)
    exceptions = tuple(day.isoformat() for day, intervals in sorted(days.items())
                       if tuple(intervals) != week[day.weekday()])
    if len(exceptions) > MAX_EXCEPTIONS:
        return None, ()
    return week, exceptions


def in_words(week: Sequence[Sequence[Sequence[str]]], day_names: Sequence[str]) -> list[str]:
    """One line per run of weekdays with the same hours: ["Mo–Do 8:00–12:00", "Fr 8:00–12:00"]."""
    lines, day = [], 0
    while day < 7:
        last = day
        while last + 1 < 7 and list(map(tuple, week[last + 1])) == list(map(tuple, week[day])):
            last += 1
        if week[day]:
            days = day_names[day] if last == day else f"{day_names[day]}–{day_names[last]}"
            times = ", ".join(f"{_short(a)}–{_short(b)}" for a, b in week[day])
            lines.append(f"{days} {times}")
        day = last + 1
    return lines


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"  # strftime costs 5x as much, per interval


def _short(time: str) -> str:
    return time[1:] if time.startswith("0") else time  # "08:00" → "8:00", as people write it
