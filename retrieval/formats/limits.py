"""How much work one file given to `bot.py add` may cost: what a zip may unpack to, PDF pages,
web-page nesting, seconds. A hostile file is refused by a named error before (or while) it
costs more; the numbers are settings (README, "Settings")."""

import time
from dataclasses import dataclass

from ..errors import ConversionTooSlowError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    unpacked_bytes: int  # all entries of a zip (.docx) together, unpacked
    entry_bytes: int  # one zip entry, unpacked
    ratio: float  # unpacked / packed of one entry larger than RATIO_FLOOR_BYTES
    entries: int  # zip entries
    pages: int  # PDF pages
    html_depth: int  # elements nested in a web page
    seconds: float  # converting one file

    @classmethod
    def of(cls, settings):
        return cls(
            unpacked_bytes=settings.add_max_unpacked_mb * MB,
            entry_bytes=settings.add_max_entry_mb * MB,
            ratio=float(settings.add_max_ratio),
            entries=settings.add_max_entries,
            pages=settings.add_max_pages,
            html_depth=settings.add_max_html_depth,
            seconds=settings.add_max_seconds,
        )

    def deadline(self, path, clock=time.monotonic):
        return Deadline(path, self.seconds, clock)


# A small entry may compress very well (an empty styles part); only a large one's ratio matters.
RATIO_FLOOR_BYTES = 1 * MB


class Deadline:
    """The time a conversion may take; `check()` between units of work (a page, a paragraph, an
    element) raises ConversionTooSlowError once it has passed. A single unit is not interrupted."""

    def __init__(self, path, seconds, clock=time.monotonic):
        self.path = path
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds

    def check(self):
        if self.clock() > self.at:
            raise ConversionTooSlowError(self.path, self.seconds)
