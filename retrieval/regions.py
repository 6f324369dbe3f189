"""Places: which one a question names, and which documents apply to it (faq/regions.toml)."""

from dataclasses import dataclass

from .datafiles import read_toml, table_lines
from .errors import DataFileError

NATIONWIDE = "全国"


@dataclass(frozen=True)
class Region:
    name: str
    aliases: tuple
    within: tuple


class Regions:
    """The region table; detects places in questions and ranks documents' regions for them."""

    def __init__(self, regions):
        self._regions = {r.name: r for r in regions}
        self._aliases = sorted(
            ((alias, r.name) for r in regions for alias in (r.name,) + r.aliases),
            key=lambda pair: -len(pair[0]),
        )

    @classmethod
    def load(cls, path):
        data = read_toml(path)
        lines = table_lines(path, "region")
        regions = []
        for n, entry in enumerate(data.get("region", [])):
            line = lines[n] if n < len(lines) else None
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise DataFileError(path, line, "region needs a name")
            regions.append(Region(name, tuple(entry.get("aliases", [])), tuple(entry.get("within", []))))
        names = {r.name for r in regions}
        for n, r in enumerate(regions):
            for parent in r.within:
                if parent not in names:
                    raise DataFileError(path, lines[n] if n < len(lines) else None, f"{r.name}: unknown region {parent!r} in within")
        return cls(regions)

    @property
    def listed(self):
        """Every region of the table, in file order (what /lookup orders its region list by)."""
        return tuple(self._regions.values())

    @property
    def names(self):
        """Every region a document may declare, including 全国."""
        return frozenset(self._regions) | {NATIONWIDE}

    @property
    def spellings(self):
        """Every name and alias of every region (萧山区, 萧山, 瓜沥...)."""
        return frozenset(alias for alias, _ in self._aliases)

    def detect(self, normalized_question):
        """The most specific region the question names, or None."""
        found = []
        for alias, name in self._aliases:
            if alias in normalized_question:
                found.append(name)
        if not found:
            return None
        # Prefer the most specific place: one that has another found place among its parents.
        for name in found:
            if any(parent in found for parent in self._regions[name].within):
                return name
        return found[0]

    def strip(self, normalized_question):
        """The question with every place name blanked out."""
        for alias, _ in self._aliases:
            normalized_question = normalized_question.replace(alias, " ")
        return normalized_question

    def affinity(self, question_region, doc_region):
        """How well a document's region fits the question's: 2 same place, 1 applies there, 0 not."""
        if question_region is None:
            return 1
        if doc_region == question_region:
            return 2
        if doc_region == NATIONWIDE or doc_region in self._regions[question_region].within:
            return 1
        return 0
