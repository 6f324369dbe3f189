"""The live knowledge base: builds the store, loads it into an index snapshot, searches it.

A `Snapshot` is immutable. `Library.load()` / `Library.build()` make a new one and swap the
reference in one assignment, so a question in flight keeps the snapshot it started with.
"""

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import store
from .datafiles import read_section
from .errors import StoreError
from .faq import FaqIndex, FaqRanking, load_entries
from .faq import from_row as faq_entry
from .faq import to_row as faq_row
from .faq import resolve as resolve_faq
from .index import BM25Index, top_k_of
from .ingest import load_documents
from .regions import Regions
from .segment import SECTION_SEPARATOR, segment
from .tokenize import TextAnalyzer

_CODE_FILES = ("ingest.py", "segment.py", "tokenize.py", "prefixdict.py", "store.py", "index.py", "faq.py", "library.py")
INDEX_FIELDS = ("words", "bigrams")  # the token fields of a passage, in the order tokens stores them


@dataclass(frozen=True)
class Ranking:
    """How the two BM25 fields and the region preference are combined (faq/calibration.toml)."""

    word_weight: float = 0.5
    candidates: int = 60
    same_region_boost: float = 1.25
    section_levels: int = 2
    synonym_weight: float = 0.5

    @classmethod
    def load(cls, path):
        return read_section(path, "ranking", cls)


@dataclass(frozen=True)
class Hit:
    passage: dict
    document: dict
    score: float
    matched: tuple  # query words found in the passage

    def as_source(self):
        """The JSON shape of one source in `ask --json` / `search --json`."""
        return {
            "id": self.passage["id"],
            "doc_id": self.document["id"],
            "title": self.document["title"],
            "issuer": self.document["issuer"],
            "date": self.document["published"] or self.document["effective"],
            "section": SECTION_SEPARATOR.join(self.passage["section"]),
            "text": self.passage["text"],
            "source_file": self.document["source_file"],
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class SearchResult:
    question: str
    region: str
    hits: tuple
    words: tuple  # the query's word tokens: its own words, then synonym-added ones
    own_words: tuple  # only the question's own words (place names and filler removed)


class Snapshot:
    """One build of the knowledge base, indexed; never mutated after construction."""

    def __init__(self, metadata, documents, passages, tokens, analyzer, regions, ranking, faq_entries=(), faq_ranking=None, indexes=None, faq_tokens=None):
        self.metadata = metadata
        self.documents = {d["id"]: d for d in documents}
        self.passages = passages
        self.analyzer = analyzer
        self.regions = regions
        self.ranking = ranking
        self.by_id = {p["id"]: i for i, p in enumerate(passages)}
        self._tokens = tokens
        self.words, self.bigrams = indexes or build_indexes(passages, tokens)
        self.doc_regions = np.array([self.documents[p["doc_id"]]["region"] for p in passages])
        sources = resolve_faq(faq_entries, passages, self.documents)
        self.faq = FaqIndex(faq_entries, sources, analyzer, self.prepare_question, self._kb_weight, faq_ranking or FaqRanking(), faq_tokens)

    @functools.cached_property
    def _text(self):
        return "\n".join(self.analyzer.normalize(p["text"]) for p in self.passages)

    def mentions(self, term):
        """Whether any passage contains `term` (normalised text) as written."""
        return term in self._text

    def _kb_weight(self, word):
        return self.words.plain_idf(word) if self.words.document_frequency(word) else 0.0

    def prepare_question(self, question):
        """The question as searched: fillers and place names removed (the region filter handles places)."""
        return self.regions.strip(self.analyzer.query(question)[0])

    def search(self, question, k=5, region=None):
        """Passages ranked for a question: fused word + bigram BM25, filtered by region."""
        analyzer = self.analyzer
        normalized = analyzer.normalize(question)
        if region is None:
            region = self.regions.detect(normalized)
        ranking = self.ranking
        text, synonyms = analyzer.query(question)
        # The place is handled by the region filter; as a search word it would favour any
        # passage that merely names the place.
        text = self.regions.strip(text)
        words, word_weights = _weighted(analyzer.words, text, synonyms, ranking.synonym_weight)
        bigrams, bigram_weights = _weighted(analyzer.bigrams, text, synonyms, ranking.synonym_weight)
        fused = {}
        fields = (
            (self.words, words, word_weights, ranking.word_weight),
            (self.bigrams, bigrams, bigram_weights, 1 - ranking.word_weight),
        )
        for index, tokens, token_weights, weight in fields:
            ids, scores = index.sparse_scores(tokens, token_weights)
            if not len(ids):
                continue
            best = scores.max()
            for i, s in top_k_of(ids, scores, ranking.candidates):
                fused[i] = fused.get(i, 0.0) + weight * s / best
        hits = []
        for i, score in fused.items():
            passage = self.passages[i]
            document = self.documents[passage["doc_id"]]
            affinity = self.regions.affinity(region, document["region"])
            if affinity == 0:
                continue
            if affinity == 2:
                score *= ranking.same_region_boost
            hits.append((score, i))
        hits.sort(key=lambda pair: (-pair[0], pair[1]))
        out = []
        for score, i in hits[:k]:
            passage = self.passages[i]
            matched = tuple(self.words.matched_terms(words, i))
            out.append(Hit(passage, self.documents[passage["doc_id"]], score, matched))
        own = words[: word_weights.count(1.0)]
        return SearchResult(question, region, tuple(out), tuple(words), tuple(own))

    def words_tokens(self, i):
        """The indexed jieba tokens of passage number i."""
        return self._tokens[self.passages[i]["content_hash"]][0]

    def passage(self, passage_id):
        i = self.by_id.get(passage_id)
        return None if i is None else self.passages[i]


@dataclass(frozen=True)
class BuildReport:
    documents: int
    passages: int
    tokenized: int
    reused: int
    input_hash: str


class Library:
    """Holds the live snapshot; builds and (re)loads it from knowledge/ and faq/."""

    def __init__(self, settings):
        self.settings = settings
        self._snapshot = None
        self._analyzer = None
        self._lock = threading.Lock()

    @property
    def snapshot(self):
        if self._snapshot is None:
            self.load()
        return self._snapshot

    @property
    def analyzer(self):
        if self._analyzer is None:
            self._analyzer = self._new_analyzer()
        return self._analyzer

    def _new_analyzer(self):
        return TextAnalyzer(self.settings.faq_dir, cache_dir=Path(self.settings.store_path).parent)

    def _read_config(self):
        """(regions, ranking, FAQ ranking) from faq/, read afresh for each build or load."""
        faq = Path(self.settings.faq_dir)
        calibration = faq / "calibration.toml"
        return Regions.load(faq / "regions.toml"), Ranking.load(calibration), FaqRanking.load(calibration)

    def input_hash(self):
        """Hash of everything a build depends on: data files and the code that reads them."""
        digest = hashlib.sha256()
        roots = [Path(self.settings.knowledge_dir), Path(self.settings.faq_dir)]
        for root in roots:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
        here = Path(__file__).parent
        for name in _CODE_FILES:
            digest.update((here / name).read_bytes())
        return digest.hexdigest()[:16]

    def is_current(self):
        meta = store.read_metadata(self.settings.store_path)
        if meta.get("schema_version") != store.SCHEMA_VERSION:
            return False
        # After a rollback the older build stays live until someone edits knowledge/ or faq/.
        return self.input_hash() in (meta.get("input_hash"), store.pinned_input_hash(self.settings.store_path))

    def build(self):
        """Read knowledge/, segment, tokenize what changed, write the store and swap it in."""
        with self._lock:
            analyzer = self._new_analyzer()
            regions, ranking, faq_ranking = self._read_config()
            input_hash = self.input_hash()
            docs = load_documents(self.settings.knowledge_dir, regions.names)
            entries = load_entries(self.settings.faq_dir, regions.names)
            previous = store.cached_tokens(self.settings.store_path)
            documents, passages, tokens = [], [], {}
            tokenized = reused = 0
            for doc in docs:
                documents.append(_document_row(doc))
                for p in segment(doc):
                    index_text = " ".join(p.section[-ranking.section_levels :]) + "\n" + p.text if ranking.section_levels else p.text
                    content_hash = hashlib.sha256((analyzer.fingerprint + "\0" + index_text).encode("utf-8")).hexdigest()
                    if content_hash not in tokens:
                        if content_hash in previous:
                            tokens[content_hash] = previous[content_hash]
                            reused += 1
                        else:
                            tokens[content_hash] = (analyzer.words(index_text), analyzer.bigrams(index_text))
                            tokenized += 1
                    passages.append(
                        {
                            "id": p.id,
                            "doc_id": p.doc_id,
                            "seq": p.seq,
                            "section": list(p.section),
                            "text": p.text,
                            "kind": p.kind,
                            "line": p.line,
                            "content_hash": content_hash,
                        }
                    )
            # The order store.read gives back, so the saved index columns match a later load and
            # the snapshot swapped in now ranks ties exactly as that load will.
            passages.sort(key=lambda p: (p["doc_id"], p["seq"]))
            metadata = {"input_hash": input_hash, "documents": len(documents), "passages": len(passages), "faq_entries": len(entries)}
            indexes = build_indexes(passages, tokens)
            # Index (and check the FAQ's sources) before writing: a bad file changes nothing.
            snapshot = Snapshot(metadata, documents, passages, tokens, analyzer, regions, ranking, entries, faq_ranking, indexes)
            saved = {name: index.parts() for name, index in zip(INDEX_FIELDS, indexes)}
            faq_rows = [dict(faq_row(e), tokens=snapshot.faq.tokens[e.id]) for e in entries]
            snapshot.metadata.update(store.write(self.settings.store_path, documents, passages, tokens, metadata, saved, faq_rows))
            self._analyzer = analyzer
            self._snapshot = snapshot
            return BuildReport(len(documents), len(passages), tokenized, reused, input_hash)

    def load(self):
        """Load the store, building it first when it is missing, unreadable or out of date."""
        store.remove_stale(self.settings.store_path)  # temp files of a build or reload that was killed
        if not self.is_current():
            self.build()
            return self._snapshot
        try:
            return self.load_stored()
        except StoreError:
            self.build()
            return self._snapshot

    def load_stored(self):
        """Load the store as it is, even if knowledge/ changed since (rollback, another process's reload)."""
        metadata, documents, passages, tokens, faq_rows = store.read(self.settings.store_path)
        saved = store.read_indexes(self.settings.store_path)
        if set(saved) != set(INDEX_FIELDS):
            raise StoreError(f"store {self.settings.store_path} lacks saved indexes")
        indexes = tuple(BM25Index.from_parts(*saved[name]) for name in INDEX_FIELDS)
        for p in passages:
            p["section"] = _json_list(p["section"])
        regions, ranking, faq_ranking = self._read_config()
        entries = [faq_entry(row) for row in faq_rows]  # the FAQ this store was built with
        faq_tokens = {row["id"]: row["tokens"] for row in faq_rows}
        self._snapshot = Snapshot(metadata, documents, passages, tokens, self.analyzer, regions, ranking, entries, faq_ranking, indexes, faq_tokens)
        return self._snapshot

    def install(self, snapshot):
        """Serve a snapshot built elsewhere (reload builds beside the live store, then swaps)."""
        self._analyzer = snapshot.analyzer
        self._snapshot = snapshot

    def search(self, question, k=None, region=None):
        return self.snapshot.search(question, k or self.settings.top_k, region)


def build_indexes(passages, tokens):
    """(words, bigrams) BM25 indexes of the passages, in passage order."""
    return tuple(BM25Index.build(tokens[p["content_hash"]][n] for p in passages) for n in range(len(INDEX_FIELDS)))


def _weighted(tokenize, text, synonyms, synonym_weight):
    """Tokens of the question (weight 1) then of its synonym expansions not already present."""
    tokens = tokenize(text)
    seen = set(tokens)
    extra = [t for t in tokenize(synonyms) if t not in seen] if synonyms else []
    return tokens + extra, [1.0] * len(tokens) + [synonym_weight] * len(extra)


def _document_row(doc):
    return {
        "id": doc.id,
        "title": doc.title,
        "issuer": doc.issuer,
        "region": doc.region,
        "published": doc.published,
        "effective": doc.effective,
        "kind": doc.kind,
        "status": doc.status,
        "source_file": doc.source_file,
        "content_hash": doc.content_hash,
    }


def _json_list(value):
    return value if isinstance(value, list) else json.loads(value)
