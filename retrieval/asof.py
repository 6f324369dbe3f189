"""The date a question is answered as of: today, or the past time it asks about (faq/as_of.toml)."""

import calendar
import datetime
import re
from dataclasses import dataclass

from .datafiles import read_toml, table_lines
from .errors import DataFileError

AT = ("before", "end")


@dataclass(frozen=True)
class AsOfRule:
    pattern: re.Pattern
    at: str


def load_rules(path):
    """The rules of faq/as_of.toml in file order; DataFileError naming file and line."""
    lines = table_lines(path, "as_of")
    rules = []
    for n, entry in enumerate(read_toml(path).get("as_of", [])):
        line = lines[n] if n < len(lines) else None
        if entry.get("at") not in AT:
            raise DataFileError(path, line, f"at {entry.get('at')!r} must be one of {', '.join(AT)}")
        try:
            pattern = re.compile(entry.get("pattern", ""))
        except re.error as exc:
            raise DataFileError(path, line, f"bad pattern: {exc}") from exc
        if "year" not in pattern.groupindex:
            raise DataFileError(path, line, "the pattern needs a group named year")
        rules.append(AsOfRule(pattern, entry["at"]))
    return tuple(rules)


def as_of(text, today, rules):
    """(YYYY-MM-DD, whether the question named it): the past date the normalised question asks
    about, else (today, False)."""
    for rule in rules:
        for found in rule.pattern.finditer(text):
            day = _day(found, rule.at)
            if day is not None and day < today:
                return day, True
    return today, False


def _day(found, at):
    groups = found.groupdict()
    year = int(groups["year"])
    month = int(groups["month"]) if groups.get("month") else None
    day = int(groups["day"]) if groups.get("day") else None
    try:
        if at == "before":
            start = datetime.date(year, month or 1, day or 1)
            return (start - datetime.timedelta(days=1)).isoformat()
        if month is None:
            return datetime.date(year, 12, 31).isoformat()
        return datetime.date(year, month, day or calendar.monthrange(year, month)[1]).isoformat()
    except ValueError:  # 2月30日
        return None


def clock(settings, now=None):
    """today() -> YYYY-MM-DD: MINZHENG_AS_OF when set (tests, reproducing an old answer), else the
    date in MINZHENG_TIMEZONE now (`now`: a time.time-like function)."""
    import time
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .errors import SettingsError

    if settings.as_of:
        try:
            fixed = datetime.date.fromisoformat(settings.as_of).isoformat()
        except ValueError:
            raise SettingsError(f"MINZHENG_AS_OF {settings.as_of!r} is not a date YYYY-MM-DD") from None
        return lambda: fixed
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"MINZHENG_TIMEZONE {settings.timezone!r} is not a time zone name such as Asia/Shanghai") from None
    now = now or time.time
    return lambda: datetime.datetime.fromtimestamp(now(), zone).date().isoformat()
