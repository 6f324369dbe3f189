"""Messages that ask the assistant to do something rather than answer (faq/commands.toml).

A request to delete one's own records is recognised by its parts, not as one of a list of
sentences: optional fillers (请, 帮我, 把), a delete verb (删除, 删掉, 清空) and an own-records
object (我的记录, 聊天记录, 个人信息), in either order (删除我的记录 / 把我的记录删掉), optional
particles after them (吧, 了), and optionally personal details after (我叫…电话…), so long as
what follows asks nothing (吗, 怎么). A question about deleting something else
(怎么注销婚姻登记记录) has words outside the parts and stays a question.
"""

import re
import unicodedata
from dataclasses import dataclass

from .datafiles import read_toml
from .errors import DataFileError

_PUNCTUATION = re.compile(r"[\s\W_]+")
PARTS = ("fillers", "verbs", "owners", "objects", "particles", "details", "asking")


def _plain(text):
    """Lower case, NFKC, without spaces and punctuation (a leading / is kept: "/forget")."""
    text = unicodedata.normalize("NFKC", text or "").lower().strip()
    slash = "/" if text.startswith("/") else ""
    return slash + _PUNCTUATION.sub("", text)


def _any(words):
    """One regex alternative of `words`, the longest first (删除 before 删)."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


def _request_pattern(parts):
    """filler* verb owner* object particle* | filler* owner* object particle* verb particle*,
    then optionally a details word and whatever follows it."""
    fillers, verbs, owners, objects, particles, details = (_any(parts[p]) for p in PARTS[:6])
    tail = f"(?:{details}(?P<tail>.*))?"
    verb_first = f"{fillers}*{verbs}{owners}*{objects}{particles}*"
    object_first = f"{fillers}*{owners}*{objects}{particles}*{verbs}{particles}*"
    return re.compile(f"(?:{verb_first}|{object_first}){tail}", re.DOTALL)


@dataclass(frozen=True)
class Commands:
    forget: frozenset  # plain phrases that are a forget request as they stand ("/forget", 忘记我)
    request: re.Pattern  # a delete request by its parts (see the module docstring)
    asking: tuple  # words that make the details after a request a question of their own

    @classmethod
    def load(cls, faq_dir):
        path = faq_dir / "commands.toml"
        section = read_toml(path).get("forget")
        phrases = section.get("phrases") if isinstance(section, dict) else None
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and _plain(p) for p in phrases):
            raise DataFileError(path, None, "[forget] needs phrases: a list of non-empty strings")
        parts = section.get("request")
        if not isinstance(parts, dict):
            raise DataFileError(path, None, "[forget.request] needs " + ", ".join(PARTS))
        for name in PARTS:
            words = parts.get(name)
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and _plain(w) == w.lower() for w in words):
                raise DataFileError(path, None, f"[forget.request] {name} needs a list of words without spaces or punctuation")
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise DataFileError(path, None, f"[forget.request] has unknown keys {unknown}; valid: {', '.join(PARTS)}")
        return cls(frozenset(_plain(p) for p in phrases), _request_pattern(parts), tuple(parts["asking"]))

    def asks_to_forget(self, message):
        plain = _plain(message)
        if plain in self.forget:
            return True
        found = self.request.fullmatch(plain)
        if found is None:
            return False
        tail = found.group("tail") or ""
        return not any(word in tail for word in self.asking)
