"""The curated FAQ: entries from faq/entries/*.toml, checked against the knowledge base, indexed.

An entry is a plain answer of at most 200 汉字 resting on cited passages. `load_entries` reads and
checks the files' shape; `resolve` ties each entry's `sources` to passages of one build and
refuses anything that does not resolve, naming file and line; `FaqIndex` matches a question to
the entries' own questions with the same analyzer as the passages.

A source is `doc_id#第X条` (an article; also its split parts) or `doc_id#text`, where the text is
part of a section heading of that document (or, failing that, of a passage's text).
"""

import dataclasses
import datetime
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datafiles import read_section, read_toml, table_lines
from .errors import DataFileError
from .index import BM25Index

ENTRY_DIR = "entries"
MAX_ANSWER_HAN = 200
MIN_QUESTIONS = 3
HOTLINE = "12345"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇]+条$")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_REQUIRED = ("id", "topic", "region", "questions", "answer", "sources")

# A number written in Chinese (三千, 一万五千, 两百) and what follows it: an amount, a time limit, an
# age or a share when a unit follows (三千元, 十五个工作日, 六十周岁), so an answer cannot state in
# characters a figure its sources do not give ("低保每月补贴三千元", fifth attack M5).
_CHINESE_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_UNIT_AFTER = re.compile(r"(?:多)?(?:元|块|万元|角|个?工作日|天|日|个月|周岁|岁|倍|%|户|人次|名)")
_CHINESE_VALUE = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CHINESE_UNIT = {"十": 10, "百": 100, "千": 1000}
_CHINESE_BIG = {"万": 10_000, "亿": 100_000_000}


def chinese_value(text):
    """The value of a Chinese number (三千 3000, 一万五千 15000, 十五 15, 二〇二四 2024), or None."""
    if not text or any(c not in _CHINESE_VALUE and c not in _CHINESE_UNIT and c not in _CHINESE_BIG for c in text):
        return None
    if not any(c in _CHINESE_UNIT or c in _CHINESE_BIG for c in text):  # read digit by digit
        return int("".join(str(_CHINESE_VALUE[c]) for c in text))
    total, section, digit = 0, 0, None
    for c in text:
        if c in _CHINESE_VALUE:
            digit = _CHINESE_VALUE[c]
        elif c in _CHINESE_UNIT:
            section += (1 if digit is None else digit) * _CHINESE_UNIT[c]
            digit = None
        else:
            total = (total + section + (digit or 0)) * _CHINESE_BIG[c]
            section, digit = 0, None
    return total + section + (digit or 0)


def stated_values(text):
    """Every number `text` states, in digits or characters, as numbers."""
    values = {float(n) for n in _DIGITS.findall(text)}
    values |= {v for run in _CHINESE_NUMBER.findall(text) if (v := chinese_value(run)) is not None}
    return values


def chinese_amounts(text):
    """(written, value) of each number in characters followed by a unit (三千元 -> ("三千", 3000))."""
    out = []
    for match in _CHINESE_NUMBER.finditer(text):
        if _UNIT_AFTER.match(text, match.end()):
            value = chinese_value(match.group())
            if value is not None:
                out.append((match.group(), value))
    return out


def uncited_numbers(answer, cited):
    """(written, value) of each number `answer` states that the `cited` text does not: digits
    missing from it (value None; 12345, the hotline, excepted), and numbers in characters before
    a unit whose value it states in neither form (三千元 -> ("三千", 3000))."""
    out = [(number, None) for number in _DIGITS.findall(answer) if number not in cited and number != HOTLINE]
    stated = stated_values(cited)
    return out + [(written, value) for written, value in chinese_amounts(answer) if value not in stated]


@dataclass(frozen=True)
class FaqEntry:
    id: str
    topic: str
    region: str
    questions: tuple
    answer: str
    sources: tuple  # references as written: "doc_id#第八条"
    gives: tuple = ()  # fact types (faq/fact_types.toml) the answer itself states, e.g. "phone"
    valid_from: str = None
    valid_to: str = None
    path: str = ""
    line: int = 0

    def fail(self, message):
        return DataFileError(self.path, self.line, f"FAQ {self.id!r}: {message}")

    def in_force(self, day):
        """Whether the entry applies on `day` (an ISO date string)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    question: str  # the entry's question that matched best
    score: float


def load_entries(faq_dir, region_names):
    """Every entry of faq/entries/*.toml, shape-checked; DataFileError names file and line."""
    folder = Path(faq_dir) / ENTRY_DIR
    entries, seen = [], {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        lines = table_lines(path, "faq")
        for n, raw in enumerate(read_toml(path).get("faq", [])):
            line = lines[n] if n < len(lines) else None
            entry = _entry(path, line, raw, region_names)
            if entry.id in seen:
                raise entry.fail(f"duplicate id (first at {seen[entry.id]})")
            seen[entry.id] = f"{path}:{line}"
            entries.append(entry)
    return entries


def _entry(path, line, raw, region_names):
    where = f"FAQ {raw.get('id', '?')!r}"
    missing = [key for key in _REQUIRED if not raw.get(key)]
    if missing:
        raise DataFileError(path, line, f"{where}: missing {', '.join(missing)}")
    unknown = set(raw) - set(FaqEntry.__dataclass_fields__) - {"path", "line"}
    if unknown:
        raise DataFileError(path, line, f"{where}: unknown keys {', '.join(sorted(unknown))}")
    questions, sources = raw["questions"], raw["sources"]
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        raise DataFileError(path, line, f"{where}: questions must be a list of non-empty strings")
    if len(questions) < MIN_QUESTIONS:
        raise DataFileError(path, line, f"{where}: needs at least {MIN_QUESTIONS} questions, has {len(questions)}")
    if not isinstance(sources, list) or not all(isinstance(s, str) and "#" in s for s in sources):
        raise DataFileError(path, line, f"{where}: sources must be a list of 'doc_id#section' strings")
    han = len(_HAN.findall(raw["answer"]))
    if han > MAX_ANSWER_HAN:
        raise DataFileError(path, line, f"{where}: answer has {han} 汉字, the limit is {MAX_ANSWER_HAN}")
    if raw["region"] not in region_names:
        raise DataFileError(path, line, f"{where}: unknown region {raw['region']!r}")
    dates = {}
    for key in ("valid_from", "valid_to"):
        value = raw.get(key)
        if value is not None:
            try:
                dates[key] = datetime.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise DataFileError(path, line, f"{where}: {key} {value!r} is not a YYYY-MM-DD date") from None
    return FaqEntry(
        id=raw["id"],
        topic=raw["topic"],
        region=raw["region"],
        questions=tuple(q.strip() for q in questions),
        answer=raw["answer"].strip(),
        sources=tuple(sources),
        gives=tuple(raw.get("gives", ())),
        path=str(path),
        line=line,
        **dates,
    )


def to_row(entry):
    """A plain dict of an entry, for the store."""
    return dataclasses.asdict(entry)


def from_row(row):
    """The entry a `to_row` dict came from (other keys, such as stored tokens, are ignored)."""
    tuples = {"questions", "sources", "gives"}
    return FaqEntry(**{k: tuple(v) if k in tuples else v for k, v in row.items() if k in FaqEntry.__dataclass_fields__})


def resolve(entries, passages, documents):
    """{entry id: (passage ids...)} for one build; DataFileError when a source does not resolve."""
    by_doc = {}
    for p in passages:
        by_doc.setdefault(p["doc_id"], []).append(p)
    resolved = {}
    for entry in entries:
        ids = []
        for ref in entry.sources:
            doc_id, _, target = ref.partition("#")
            if doc_id not in documents:
                raise entry.fail(f"source {ref!r}: no document {doc_id!r}")
            found = _find(by_doc.get(doc_id, []), target)
            if not found:
                raise entry.fail(f"source {ref!r}: no passage of {doc_id} matches {target!r}")
            ids.extend(i for i in found if i not in ids)
        resolved[entry.id] = tuple(ids)
    return resolved


def _find(passages, target):
    if _ARTICLE.match(target):
        return [p["id"] for p in passages if p["section"] and p["section"][-1] == target]
    in_heading = [p["id"] for p in passages if any(target in label for label in p["section"])]
    return in_heading or [p["id"] for p in passages if target in p["text"]]


def lint(snapshot, today):
    """Problems that loading does not stop but a curator must fix, as DataFileErrors.

    An entry that expired before `today`; a number in an answer that none of the entry's cited
    passages contains (12345, the hotline, excepted); a question of a local entry that names no
    place within the entry's region (it could never be matched).
    """
    problems = []
    faq, regions, normalize = snapshot.faq, snapshot.regions, snapshot.analyzer.normalize
    for entry in faq.entries.values():
        if entry.valid_to is not None and entry.valid_to < today:
            problems.append(entry.fail(f"expired on {entry.valid_to}"))
        cited = "".join(snapshot.passage(p)["text"] for p in faq.sources[entry.id])
        for written, value in uncited_numbers(entry.answer, cited):
            shown = written if value is None else f"{written} ({value})"
            problems.append(entry.fail(f"number {shown} is in no cited source"))
        if entry.region in faq.ranking.unplaced_regions:
            continue
        for question in entry.questions:
            place = regions.detect(normalize(question))
            if place is None or regions.affinity(place, entry.region) == 0:
                problems.append(entry.fail(f"question {question!r} names no place in {entry.region}"))
    return problems


@dataclass(frozen=True)
class FaqRanking:
    """How FAQ matches are scored and when they answer (faq/calibration.toml [faq])."""

    answer_weight: float = 0.4  # weight of the question's words found in the entry's answer
    passage_weight: float = 0.2  # weight of 1/rank of the entry's best source in passage search
    answer_threshold: float = 0.95  # at or above: the FAQ answers
    suggest_threshold: float = 0.6  # at or above: offered as "您是不是想问"
    ambiguity_margin: float = 0.05  # two entries this close: ask which one was meant
    max_suggestions: int = 3
    unplaced_regions: tuple = ("全国",)  # entry regions that apply when a question names no place
    synonym_weight: float = 0.7  # weight of faq/synonyms.txt terms in the answer share
    same_region_bonus: float = 0.3  # for an entry of exactly the place the question names
    plan_cues: tuple = ()  # words of a question about a place's plans: its passages answer it

    @classmethod
    def load(cls, path):
        return read_section(path, "faq", cls)


class FaqIndex:
    """BM25 over the entries' questions (words and bigrams) and a calibrated match score."""

    def __init__(self, entries, sources, analyzer, prepare, word_weight, ranking, tokens=None):
        """`prepare(question)` gives the text to index (fillers and place names removed);
        `word_weight(token)` is the knowledge base's idf of a word (0 when it never occurs);
        `tokens`: the `tokens` of an index built before from the same entries (a loaded store),
        so loading does not run jieba over every FAQ question again."""
        self.entries = {e.id: e for e in entries}
        self.sources = sources
        self.analyzer = analyzer
        self.prepare = prepare
        self.word_weight = word_weight
        self.ranking = ranking
        self.tokens = tokens if tokens is not None else {e.id: self._tokenize(e) for e in entries}
        self._owner = []  # question number -> entry id
        self._questions = []
        self._question_words = {}  # (entry id, question) -> its words, as prepared and indexed
        words, bigrams, contents = [], [], []
        for entry in entries:
            for q, tokens in zip(entry.questions, self.tokens[entry.id]["questions"]):
                w, b = tokens[0], tokens[1]
                self._owner.append(entry.id)
                self._questions.append(q)
                self._question_words.setdefault((entry.id, q), w)
                words.append(w)
                bigrams.append(b)
                # the prepared text is stored with the tokens (a store written before it was: prepared now)
                contents.append(self._content(tokens[2] if len(tokens) > 2 else prepare(q), w, b))
        self._written = {}  # entry id -> its questions and answer normalised, when first asked for
        self._words = BM25Index.build(words)
        self._bigrams = BM25Index.build(bigrams)
        self._full_sets = [self._weights(w, b) for w, b in zip(words, bigrams)]
        # without who is asked about; the same weights where the question names nobody
        self._token_sets = [full if c == (w, b) else self._weights(*c) for full, c, w, b in zip(self._full_sets, contents, words, bigrams)]
        self._entry_words = {e.id: set(self.tokens[e.id]["words"]) for e in entries}

    def has_key_concept(self, match, query):
        """Whether the question names the key concept of the entry question it matched: that
        question's most distinctive word (结婚证 in "结婚证丢了能补吗"), as written or through the
        lexicon's official terms. "我身份证丢了能结婚吗" does not name 结婚证, so the
        replacement-certificate entry is only a suggestion for it."""
        asked = self._question_words[(match.entry.id, match.question)]
        words = [w for w in asked if len(w) >= 2 and self.word_weight(w) > 0 and not self.analyzer.is_generic(w)]
        if not words:
            return True
        key = max(words, key=lambda w: (self.word_weight(w), len(w)))  # rarest in the knowledge base
        present = set(query.words) | set(query.expansion_words)
        return key in present or key in query.text or key in query.normalized or key in query.expansions

    def written(self, entry_id):
        """An entry's questions and answer, normalised, one per line."""
        text = self._written.get(entry_id)
        if text is None:
            entry = self.entries[entry_id]
            text = self._written[entry_id] = self.analyzer.normalize("\n".join((*entry.questions, entry.answer)))
        return text

    def _tokenize(self, entry):
        """{"questions": [[words, bigrams, prepared text] per question], "words": words of questions + answer}."""
        analyzer, prepare = self.analyzer, self.prepare
        questions = [[analyzer.words(text), analyzer.bigrams(text), text] for text in map(prepare, entry.questions)]
        return {"questions": questions, "words": analyzer.words(prepare(" ".join(entry.questions) + " " + entry.answer))}

    def __len__(self):
        return len(self.entries)

    def _content(self, searched, words, bigrams):
        """(words, bigrams) of a question without the words for who it is about
        (faq/people_words.txt): "我爸去世了后事怎么办" and "家里有人去世了后事怎么办" ask the
        same thing, so who is named neither adds to nor takes from their similarity. A bigram
        with a character of such a word goes too (爸去, 人去). Time and quantity words stay:
        "多少" tells a question about a rate from one about a subsidy."""
        covered, kept, at = set(), [], 0
        for word in words:
            found = searched.find(word, at)
            if found >= 0:
                at = found + len(word)
            if found >= 0 and self.analyzer.is_person(word):
                covered.update(range(found, at))
            else:
                kept.append(word)
        if not covered or not kept:  # none of them, or nothing else: the tokens as they are
            return words, bigrams
        spanning = {searched[i : i + 2] for i in range(len(searched) - 1) if i in covered or i + 1 in covered}
        return kept, [b for b in bigrams if b not in spanning]

    def _weights(self, words, bigrams):
        weights = {("w", t): self._words.plain_idf(t) for t in words if self._words.document_frequency(t)}
        weights.update({("b", t): self._bigrams.plain_idf(t) for t in bigrams if self._bigrams.document_frequency(t)})
        return weights

    def match(self, query, day, region_ok, passage_ranks, region=None, limit=3):
        """The best-matching entries in force on `day`, one per entry, best first.

        score = similarity to the entry's closest question (idf-weighted Dice of words and
        character bigrams) + answer_weight x share of the question's words found in the entry
        + passage_weight / rank of the entry's best-ranked source in the passage search
        (`passage_ranks`: passage id -> rank), + same_region_bonus for an entry of exactly the
        question's `region`. `region_ok(entry_region)` filters entries.
        """
        words, bigrams = list(query.words), list(query.bigrams)
        expansion_words = query.expansion_words
        # Who is asked about is set aside only when the sources know every other word: in
        # "宠物去世了如何火化" the one who died is 宠物, no person, and no entry is about it.
        if query.unknown:
            content_words, content_bigrams, token_sets = words, bigrams, self._full_sets
        else:
            content_words, content_bigrams = self._content(query.searched, words, bigrams)
            token_sets = self._token_sets
        query = self._weights(content_words, content_bigrams)
        if not query:
            return []
        candidates = set()
        for index, tokens in ((self._words, words), (self._bigrams, bigrams)):
            ids, scores = index.sparse_scores(tokens, [1.0] * len(tokens))
            if len(ids):
                candidates.update(int(i) for i in ids[np.argsort(-scores)[:30]])
        query_total = sum(query.values())
        kb_words = {t: self.word_weight(t) for t in dict.fromkeys(content_words)}
        # The official terms of the question's colloquial phrases (去世 -> 死亡), at less weight:
        # the share counts them when that raises it (the question's own words keep theirs).
        expanded = dict(kb_words)
        for t in expansion_words:
            expanded.setdefault(t, self.ranking.synonym_weight * self.word_weight(t))
        ranking = self.ranking
        best = {}
        for i in candidates:
            entry = self.entries[self._owner[i]]
            if not entry.in_force(day) or not region_ok(entry.region):
                continue
            own = token_sets[i]
            shared = sum(w for t, w in query.items() if t in own)
            similarity = 2 * shared / (query_total + sum(own.values()))
            if entry.id in best and similarity <= best[entry.id][0]:
                continue
            best[entry.id] = (similarity, self._questions[i])
        matches = []
        for entry_id, (similarity, asked) in best.items():
            entry_words = self._entry_words[entry_id]
            covered = max(_share(kb_words, entry_words), _share(expanded, entry_words))
            rank = min((passage_ranks[p] for p in self.sources[entry_id] if p in passage_ranks), default=None)
            score = similarity + ranking.answer_weight * covered + (ranking.passage_weight / rank if rank else 0.0)
            if region is not None and self.entries[entry_id].region == region:
                score += ranking.same_region_bonus
            matches.append(FaqMatch(self.entries[entry_id], asked, round(score, 3)))
        return sorted(matches, key=lambda m: (-m.score, m.entry.id))[:limit]


def _share(weights, words):
    """The weighted share of `weights`' tokens that are in `words`."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in words) / total if total else 0.0
