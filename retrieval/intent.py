"""What a question is about: out-of-scope matters, topic, and the kind of fact it asks for.

All word lists are data files under faq/ (out_of_scope.toml, not_covered.toml,
domain_terms.txt, topics.toml, fact_types.toml, hardship.toml); this module only applies them.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from .datafiles import read_lines, read_toml, table_lines
from .errors import DataFileError


@dataclass(frozen=True)
class OutOfScope:
    name: str
    channel: str


@dataclass(frozen=True)
class NotCovered:
    """A civil-affairs matter the knowledge base does not cover (faq/not_covered.toml)."""

    name: str
    channel: str
    keywords: tuple
    # The topics (faq/topics.toml) whose matter `name` is ("养老机构的押金": elderly_care); a
    # question naming only other topics is not about it (结婚登记的押金 is not the 养老机构's).
    # Empty: any question.
    topics: tuple = ()

    def fits(self, topics):
        """Whether the matter can be what a question naming `topics` (topics_in) is about."""
        return not self.topics or not topics or any(t in self.topics for t in topics)


@dataclass(frozen=True)
class Need:
    """A basic need in an emergency (faq/hardship.toml): its cues put a message in scope and its
    official terms are searched beside the message's words."""

    name: str
    cues: tuple
    terms: tuple
    crisis: bool = False  # words of suicide or self-harm: never declined (templates/crisis.txt.j2)


@dataclass(frozen=True)
class FactType:
    name: str
    label: str
    asks: tuple
    evidence: re.Pattern
    promote: bool = False  # passages stating this fact move ahead (see Answerer._prefer_evidence)
    # A sentence matching `unless` does not state the fact, unless the question itself names
    # what it matches (a fine, "处1万元以上罚款", is not what a service costs; "罚多少" asks it).
    unless: re.Pattern = None
    # A figure the question states ("每餐补贴10元是真的吗", "殡葬补贴两万块") asks for the fact too:
    # the reply must find it stated, never take the question's word for it.
    claims: re.Pattern = None
    # Said instead of `label` when a question about now finds the fact only for past years
    # ("现在低保标准是多少" and a 2020 figure); None: the fact does not date.
    dated: str = None
    # An ask followed by this does not ask for the fact ("给多少户" counts households, it asks
    # no amount); None: every occurrence asks.
    counted: re.Pattern = None

    def asked_in(self, normalized):
        """Whether the (normalised) question asks for this fact."""
        for a in self.asks:
            start = normalized.find(a)
            while start >= 0:
                end = start + len(a)
                if self.counted is None or not self.counted.match(normalized, end):
                    return True
                start = normalized.find(a, start + 1)
        return self.claims is not None and self.claims.search(normalized) is not None

    def stated_in(self, sentence, question):
        if self.unless is not None:
            found = self.unless.search(sentence)
            if found and found.group(0) not in question:
                return False
        return self.evidence.search(sentence) is not None


class Intents:
    """Keyword tables read from faq/; all matching is on normalised text."""

    def __init__(self, out_of_scope, domain_terms, topics, facts, not_covered=(), services=None, now_cues=(), needs=()):
        self.needs = needs  # (Need, ...) of faq/hardship.toml, in file order
        self._out_of_scope = out_of_scope  # [(keyword, OutOfScope)] longest keyword first
        self.now_cues = now_cues  # words that ask about now (现在, 目前, 最新...), faq/fact_types.toml [now]
        self._services = domain_terms if services is None else services
        self.not_covered = not_covered  # (NotCovered, ...) in file order
        self._domain_terms = domain_terms
        self._topics = topics  # [(name, keywords)]
        self.facts = facts

    @classmethod
    def load(cls, faq_dir, normalize):
        faq_dir = Path(faq_dir)
        oos = []
        for _, entry in _tables(faq_dir / "out_of_scope.toml", "topic", ("name", "keywords")):
            target = OutOfScope(entry["name"], entry.get("channel", ""))
            oos.extend((normalize(k), target) for k in entry["keywords"])
        oos.sort(key=lambda pair: -len(pair[0]))
        domain = tuple(normalize(w) for _, w in read_lines(faq_dir / "domain_terms.txt"))
        services = tuple(normalize(w) for _, line in read_lines(faq_dir / "civil_services.txt") for w in line.split())
        topics = [
            (entry["name"], tuple(normalize(k) for k in entry["keywords"]))
            for _, entry in _tables(faq_dir / "topics.toml", "topic", ("name", "keywords"))
        ]
        facts = []
        path = faq_dir / "fact_types.toml"
        for line, entry in _tables(path, "fact", ("name", "label", "asks", "evidence")):
            evidence, unless, claims, counted = (_pattern(path, line, entry, key) for key in ("evidence", "unless", "claims", "counted"))
            promote = entry.get("promote", False)
            if not isinstance(promote, bool):
                raise DataFileError(path, line, "promote must be true or false")
            dated = entry.get("dated")
            if dated is not None and not (isinstance(dated, str) and dated):
                raise DataFileError(path, line, "dated must be a non-empty string (what to say when only past years give it)")
            facts.append(FactType(entry["name"], entry["label"], tuple(normalize(a) for a in entry["asks"]), evidence, promote, unless, claims, dated, counted))
        now = read_toml(path).get("now", {})
        now_cues = now.get("cues", []) if isinstance(now, dict) else None
        if not isinstance(now_cues, list) or not all(isinstance(c, str) and c for c in now_cues):
            raise DataFileError(path, None, "[now] cues must be a list of non-empty strings")
        not_covered = []
        path = faq_dir / "not_covered.toml"
        for line, entry in _tables(path, "matter", ("name", "keywords", "channel")):
            keywords = tuple(k for k in (normalize(k).strip() for k in entry["keywords"]) if k)
            if not keywords:
                raise DataFileError(path, line, "keywords is empty")
            matter_topics = entry.get("topics", [])
            known = {name for name, _ in topics}
            if not isinstance(matter_topics, list) or any(t not in known for t in matter_topics):
                raise DataFileError(path, line, f"topics must be a list of topic names of topics.toml ({', '.join(sorted(known))})")
            not_covered.append(NotCovered(entry["name"], entry["channel"], keywords, tuple(matter_topics)))
        needs = load_needs(faq_dir / "hardship.toml", normalize)
        return cls(tuple(oos), domain, tuple(topics), tuple(facts), tuple(not_covered), services, tuple(normalize(c) for c in now_cues), needs)

    def needs_in(self, normalized):
        """The basic needs (faq/hardship.toml) the question names, in file order."""
        return tuple(n for n in self.needs if any(c in normalized for c in n.cues))

    def out_of_scope(self, normalized):
        """The out-of-scope matter the question is about, or None: no other department's matter
        is named, or a civil-affairs service (faq/civil_services.txt) is left beside it."""
        found = None
        rest = normalized
        for keyword, target in self._out_of_scope:
            if keyword in rest:
                found = found or target
                rest = rest.replace(keyword, " ")
        if found is None or any(term in rest for term in self._services):
            return None
        return found

    def is_civil_affairs(self, normalized):
        return any(term in normalized for term in self._domain_terms)

    def topic(self, normalized):
        for name, keywords in self._topics:
            if any(k in normalized for k in keywords):
                return name
        return None

    @property
    def topic_names(self):
        return tuple(name for name, _ in self._topics)

    def topics_in(self, normalized):
        """Every topic whose keywords the text mentions, in file order (lookup's topic filter)."""
        return tuple(name for name, keywords in self._topics if any(k in normalized for k in keywords))

    def asked_facts(self, normalized):
        """The fact types the question asks for (e.g. an amount, a phone number)."""
        return tuple(f for f in self.facts if f.asked_in(normalized))


def load_needs(path, normalize):
    """faq/hardship.toml's needs; DataFileError naming file and line for a malformed one."""
    needs = []
    for line, entry in _tables(path, "need", ("name", "cues", "terms")):
        for key in ("cues", "terms"):
            words = entry[key]
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() and " " not in w for w in words):
                raise DataFileError(path, line, f"{key} must be a list of words without spaces")
        crisis = entry.get("crisis", False)
        if not isinstance(crisis, bool):
            raise DataFileError(path, line, "crisis must be true or false")
        needs.append(Need(entry["name"], tuple(normalize(c) for c in entry["cues"]), tuple(normalize(t) for t in entry["terms"]), crisis))
    if not needs:
        raise DataFileError(path, None, "no [[need]] tables")
    return tuple(needs)


def _pattern(path, line, entry, key):
    """The compiled regular expression `key` of a table, None when absent; DataFileError naming
    file and line for a bad one."""
    if key not in entry:
        return None
    try:
        return re.compile(entry[key])
    except (re.error, TypeError) as exc:
        raise DataFileError(path, line, f"bad {key} pattern: {exc}") from exc


def _tables(path, header, keys):
    """(line, table) for each `[[header]]` of a TOML file; a table lacking one of `keys` is refused."""
    lines = table_lines(path, header)
    for n, entry in enumerate(read_toml(path).get(header, [])):
        line = lines[n] if n < len(lines) else None
        for key in keys:
            if key not in entry:
                raise DataFileError(path, line, f"entry {n + 1} lacks {key!r}")
        yield line, entry
