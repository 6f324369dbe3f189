"""Messages that ask the assistant to do something rather than answer (faq/commands.toml)."""

import re
import unicodedata
from dataclasses import dataclass

from .datafiles import read_toml
from .errors import DataFileError

_PUNCTUATION = re.compile(r"[\s\W_]+")


def _plain(text):
    """Lower case, NFKC, without spaces and punctuation (a leading / is kept: "/forget")."""
    text = unicodedata.normalize("NFKC", text or "").lower().strip()
    slash = "/" if text.startswith("/") else ""
    return slash + _PUNCTUATION.sub("", text)


@dataclass(frozen=True)
class Commands:
    forget: frozenset  # plain phrases

    @classmethod
    def load(cls, faq_dir):
        path = faq_dir / "commands.toml"
        section = read_toml(path).get("forget")
        phrases = section.get("phrases") if isinstance(section, dict) else None
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and _plain(p) for p in phrases):
            raise DataFileError(path, None, "[forget] needs phrases: a list of non-empty strings")
        return cls(frozenset(_plain(p) for p in phrases))

    def asks_to_forget(self, message):
        return _plain(message) in self.forget
