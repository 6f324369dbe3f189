"""Times on the admin pages in the office's zone (MINZHENG_TIMEZONE, Asia/Shanghai by default).

The query log and the store write the server's own clock (`time.strftime`, often UTC on a
server): a time without an offset is read as the server's local time, then shown in the zone.
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.errors import SettingsError

SHOWN = "%Y-%m-%d %H:%M"


def zone(settings):
    """The ZoneInfo of MINZHENG_TIMEZONE; SettingsError for a name the tz database lacks."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"MINZHENG_TIMEZONE {settings.timezone!r} is not a time zone name such as Asia/Shanghai") from None


def aware(value, tz):
    """A datetime in `tz` for an epoch number, an ISO string (with or without offset) or a datetime; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():  # store metadata: ...T10:00:00+0000
            text = text[:-2] + ":" + text[-2:]
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
    if not isinstance(value, datetime.datetime):
        return None
    return value.astimezone(tz)  # naive: the server's local time


def formatter(tz, pattern=SHOWN):
    """The jinja filter `local_time`: any time value as 'YYYY-MM-DD HH:MM' in the zone (unreadable: as given)."""

    def local_time(value):
        moment = aware(value, tz)
        if moment is None:
            return "" if value is None else str(value)
        return moment.strftime(pattern)

    return local_time
