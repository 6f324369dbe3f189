"""The live knowledge base: builds the store, loads it into an index snapshot, searches it.

A `Snapshot` is immutable. `Library.load()` / `Library.build()` make a new one and swap the
reference in one assignment, so a question in flight keeps the snapshot it started with.
"""

import functools
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import builds, store
from .datafiles import read_section
from .errors import StoreError
from .faq import FaqIndex, FaqRanking, load_entries
from .faq import from_row as faq_entry
from .faq import to_row as faq_row
from .faq import resolve as resolve_faq
from .homophones import Homophones
from .index import BM25Index, top_k_of
from .ingest import load_documents
from .questions import by_passage, load_questions
from .regions import Regions
from .rerank import Candidate, Reranker
from .rerank import features as rerank_features
from .segment import SECTION_SEPARATOR, segment
from .tokenize import TextAnalyzer
from .validity import IN_FORCE, NOT_YET, REPEALED
from .validity import validity as validity_of

log = logging.getLogger(__name__)

_CODE_FILES = ("ingest.py", "validity.py", "segment.py", "tokenize.py", "prefixdict.py", "store.py", "index.py", "faq.py", "library.py", "questions.py", "homophones.py")
# The BM25 fields of a passage: its text (jieba words, character bigrams), then the questions of
# the question index (knowledge/questions/) that it answers.
INDEX_FIELDS = ("words", "bigrams", "q_words", "q_bigrams")


@dataclass(frozen=True)
class Ranking:
    """How the two BM25 fields and the region preference are combined (faq/calibration.toml)."""

    word_weight: float = 0.5
    question_weight: float = 0.5
    candidates: int = 60
    same_region_boost: float = 1.25
    type_boost: float = 1.0
    local_boost: float = 1.0
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
    fields: tuple = ()  # ((field, share of that field's best score), ...) before reranking
    features: dict = None  # what the reranker read (rerank.FEATURES), when it ran
    fused_rank: int = None  # 1-based place in the fused order, before the reranker
    validity: object = None  # validity.Validity of its document as of the Query's date

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
            **citation_fields(self.document, self.validity),
        }


def citation_fields(document, validity=None):
    """What a source's JSON adds to its citation (every channel's JSON the same): the order
    number, the revision and entry-into-force dates, an undated text's year, and its validity
    as of the question's date (`in_force`, `not_yet`, `repealed`) with `repealed_on`."""
    return {
        "order": document.get("order", ""),
        "revised": document.get("revised", ""),
        "effective": document.get("effective_from") or document.get("effective", ""),
        "year": document.get("year", ""),
        "validity": validity.state if validity is not None else IN_FORCE,
        "repealed_on": validity.repealed_on if validity is not None and validity.repealed_now else "",
        "validity_now": validity.state_now if validity is not None else IN_FORCE,
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

    def __init__(self, metadata, documents, passages, tokens, analyzer, regions, ranking, faq_entries=(), faq_ranking=None, indexes=None, faq_tokens=None, question_tokens=None, homophones=None, reranker=None, index_questions=None):
        self.metadata = metadata
        self.documents = {d["id"]: d for d in documents}
        self.passages = passages
        self.analyzer = analyzer
        self.regions = regions
        self.ranking = ranking
        self.reranker = reranker or Reranker()
        self.by_id = {p["id"]: i for i, p in enumerate(passages)}
        self._tokens = tokens
        self.homophones = homophones
        # Per passage, filled as questions need them (a dict item is set atomically, so two
        # threads at worst compute the same value twice).
        self._normalized = {}
        self._read = {}  # passage number -> its text and index questions, normalised
        self._asked = {}
        self._validity = {}  # (doc_id, as_of, today) -> Validity
        self.predecessors = {}  # document id -> ids of the documents it superseded
        for d in documents:
            if d.get("superseded_by"):
                self.predecessors.setdefault(d["superseded_by"], []).append(d["id"])
        # Per passage, [its index questions normalised and joined, [[words, bigrams] per
        # question]] as the build prepared them (JSON from the store, parsed on first use), so no
        # index question is tokenised again to answer a question. None: prepared when needed.
        self._index_questions_json = index_questions
        self.words, self.bigrams, self.q_words, self.q_bigrams = indexes or build_indexes(passages, tokens, question_tokens)
        self.doc_regions = np.array([self.documents[p["doc_id"]]["region"] for p in passages])
        sources = resolve_faq(faq_entries, passages, self.documents)
        self.faq = FaqIndex(faq_entries, sources, analyzer, self.prepare_question, self._kb_weight, faq_ranking or FaqRanking(), faq_tokens)

    @functools.cached_property
    def asked_documents(self):
        """The documents with at least one index question (a newly added one has none yet)."""
        return frozenset(p["doc_id"] for p in self.passages if p.get("questions"))

    @functools.cached_property
    def _text(self):
        return "\n".join(self.normalized(i) for i in range(len(self.passages)))

    def normalized(self, i):
        """Passage number i's text normalised as questions are (NFKC, simplified, lower case)."""
        text = self._normalized.get(i)
        if text is None:
            text = self._normalized[i] = self.analyzer.normalize(self.passages[i]["text"])
        return text

    def normalized_questions(self, i):
        """Passage number i's index questions, normalised, one per line."""
        return self._index_questions(i)[0]

    def read_text(self, i):
        """Passage number i's text and its index questions, normalised: what a question's word
        is looked for in (the decision's coverage, "why not" in explain, the rare-term rule)."""
        text = self._read.get(i)
        if text is None:
            text = self._read[i] = self.normalized(i) + "\n" + self.normalized_questions(i)
        return text

    def says(self, i, term, question):
        """Whether passage number i (text or index questions) has `term`, or a lexicon phrase of
        `question` (normalised) that contains the term has an official term in it (乱埋坟 -> 私埋乱葬)."""
        text = self.read_text(i)
        return term in text or any(o in text for o in self.analyzer.stand_ins(term, question))

    def question_tokens(self, i):
        """(({word: idf} of its knowledge-base words, their idf sum, bigram set), ...) of passage
        number i's index questions, prepared as a citizen's question is (the closest-question
        similarity of the reranker and the decision)."""
        return self._index_questions(i)[1]

    @functools.cached_property
    def _prepared_questions(self):
        raw = self._index_questions_json
        return json.loads(raw) if raw else None

    def _index_questions(self, i):
        asked = self._asked.get(i)
        if asked is None:
            prepared = self._prepared_questions
            if prepared is not None:
                text, tokens = prepared[i]
            else:  # a snapshot built without them (benchmarks' synthetic corpora)
                questions = self.passages[i].get("questions") or ()
                text = normalized_questions(self.analyzer, questions)
                tokens = index_question_tokens(self.analyzer, self.regions, questions)
            index = self.words
            sets = []
            for words, grams in tokens:
                weights = {t: index.plain_idf(t) for t in dict.fromkeys(words) if index.document_frequency(t)}
                sets.append((weights, sum(weights.values()), frozenset(grams)))
            asked = self._asked[i] = (text, tuple(sets))
        return asked

    def validity(self, doc_id, as_of, today):
        """validity.Validity of a document for a question as of `as_of`, asked on `today`."""
        key = (doc_id, as_of, today)
        found = self._validity.get(key)
        if found is None:
            found = self._validity[key] = validity_of(self.documents[doc_id], self.documents, as_of or today, today or as_of)
        return found

    def mentions(self, term):
        """Whether any passage contains `term` (normalised text) as written."""
        return term in self._text

    @functools.cached_property
    def _questions_text(self):
        prepared = self._prepared_questions
        if prepared is not None:
            return "\n".join(text for text, _ in prepared)
        return "\n".join(normalized_questions(self.analyzer, p.get("questions") or ()) for p in self.passages)

    def asked_about(self, term):
        """Whether an index question (knowledge/questions/) has `term` (normalised text): a word
        citizens use for what some passage says (房子 for 住房, 爸妈 for 父母), though no passage
        has it as written."""
        return term in self._questions_text

    def on_record(self, term):
        """Whether a passage, a document's title or its own number (国务院令第649号) has `term`."""
        if self.mentions(term):
            return True
        normalize = self.analyzer.normalize
        return any(term in normalize(d.get("title") or "") or term in normalize(d.get("order") or "") for d in self.documents.values())

    def _kb_weight(self, word):
        return self.words.plain_idf(word) if self.words.document_frequency(word) else 0.0

    def prepare_question(self, question):
        """A FAQ entry's question as a citizen's is searched: sound-alike typos repaired as the
        Query's are (a 离昏 written to catch the typo then matches the 离婚 the question is
        repaired to), fillers and place names removed (the region filter handles places)."""
        if self.homophones is not None:
            analyzer = self.analyzer
            normalized = analyzer.normalize(question)
            known = lambda piece: self.kb_df(piece) > 0 or analyzer.is_dictionary_word(piece)  # noqa: E731
            function_word = lambda token: analyzer.is_stopword(token, normalized=True)  # noqa: E731
            question = self.homophones.repair(normalized, analyzer.cut(normalized), known, function_word)[0]
        return prepare(self.analyzer, self.regions, question)

    def kb_df(self, word):
        return self.words.document_frequency(word)

    def search(self, query, k=5, region=None):
        """Passages ranked for a Query: fused BM25 of text and question-index fields, filtered
        and weighed by region and question type, then the first `pool` reordered by the fitted
        reranker (retrieval/rerank.py), whose softmax share becomes each hit's score."""
        region = query.region if region is None else region
        words = self.field_weights(query)[0][2]
        hits, parts = self.fused(query, region)
        reranker = self.reranker
        rows = [None] * len(hits)
        fused_rank = {i: n for n, (_, i) in enumerate(hits[: max(k, reranker.pool)], 1)}
        if reranker.active and hits:
            # Only the first `pool` are reordered, whatever k: a longer list (the staff page's)
            # begins with the same passages in the same order as a short one, and what lies
            # beyond the pool follows in fused order with no share.
            hits = hits[: max(k, reranker.pool)]
            candidates = [Candidate(i, score, parts.get(i, {})) for score, i in hits]
            pool = min(reranker.pool, len(hits))
            rows = rerank_features(self, query, candidates, region, scored=pool)  # past the pool: for the explanation only
            shares = reranker.scores(rows[:pool])
            order = sorted(range(pool), key=lambda n: (-shares[n], n))
            hits = [(float(shares[n]), hits[n][1]) for n in order] + [(0.0, i) for _, i in hits[pool:]]
            rows = [rows[n] for n in order] + rows[pool:]
        out = []
        as_of, today = query.as_of, query.today
        matched_of = self.words.matched_terms_of(words, [i for _, i in hits[:k]])
        for (score, i), row, matched in zip(hits[:k], rows, matched_of):
            passage = self.passages[i]
            matched = tuple(matched)
            field_shares = tuple(sorted(parts.get(i, {}).items()))
            valid = self.validity(passage["doc_id"], as_of, today) if (as_of or today) else None
            out.append(Hit(passage, self.documents[passage["doc_id"]], score, matched, field_shares, row, fused_rank[i], valid))
        return SearchResult(query.question, region, tuple(out), tuple(words), tuple(query.words))

    def field_weights(self, query):
        """((field, index, tokens, token weights, weight in the fusion), ...) of the four BM25 fields."""
        ranking = self.ranking
        words, word_weights = query.field_tokens("words", ranking.synonym_weight)
        bigrams, bigram_weights = query.field_tokens("bigrams", ranking.synonym_weight)
        text_share = 1 - ranking.question_weight
        return (
            ("words", self.words, words, word_weights, text_share * ranking.word_weight),
            ("bigrams", self.bigrams, bigrams, bigram_weights, text_share * (1 - ranking.word_weight)),
            ("q_words", self.q_words, words, word_weights, ranking.question_weight * ranking.word_weight),
            ("q_bigrams", self.q_bigrams, bigrams, bigram_weights, ranking.question_weight * (1 - ranking.word_weight)),
        )

    def fused(self, query, region):
        """The fused order before reranking: ([(score, passage number)] best first, {passage
        number: {field: share of that field's best}}), region and question type applied."""
        ranking = self.ranking
        fused, parts = {}, {}
        for name, index, tokens, token_weights, weight in self.field_weights(query):
            if not weight:
                continue
            ids, scores = index.sparse_scores(tokens, token_weights)
            if not len(ids):
                continue
            best = scores.max()
            for i, s in top_k_of(ids, scores, ranking.candidates):
                share = s / best
                fused[i] = fused.get(i, 0.0) + weight * share
                parts.setdefault(i, {})[name] = share
        hits = []
        as_of, today = query.as_of, query.today
        asked = self.asked_documents
        text_weight = 1.0 - ranking.question_weight
        for i, score in fused.items():
            passage = self.passages[i]
            document = self.documents[passage["doc_id"]]
            if document["id"] not in asked and text_weight > 0:
                # A document with no index questions yet (one just added) has only its text to
                # match: its passages compete on their text alone instead of losing the index's
                # share of the score (in a build where no document has any, the order is as before).
                score /= text_weight
            affinity = self.regions.affinity(region, document["region"])
            if affinity == 0:
                continue
            # A text superseded or expired by the date asked about is never the rule then; nor
            # is its successor, when that took effect later (a question about the past).
            if (as_of or today) and not self.cited_on(document["id"], as_of, today):
                continue
            # A place in the question prefers its own plans to a wider region's plans; the
            # national and provincial rules that govern a procedure are never pushed down.
            if affinity == 1 and region is not None and document["kind"] != "regulation":
                score /= ranking.same_region_boost
            elif affinity == 2:
                score *= ranking.local_boost
            if query.qtype is not None and query.qtype.evidence.search(passage["text"]):
                score *= ranking.type_boost
            hits.append((score, i))
        hits.sort(key=lambda pair: (-pair[0], pair[1]))
        return hits, parts

    def cited_on(self, doc_id, as_of, today):
        """Whether a document may answer for the rule of `as_of`: not repealed by then, and not a
        text that took effect later than that while the one it replaced was in force then."""
        state = self.validity(doc_id, as_of, today).state
        if state == REPEALED:
            return False
        if state == NOT_YET:
            return not any(self.validity(old, as_of, today).in_force for old in self.predecessors.get(doc_id, ()))
        return True

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
        """(regions, ranking, FAQ ranking, reranker) from faq/, read afresh for each build or load."""
        faq = Path(self.settings.faq_dir)
        calibration = faq / "calibration.toml"
        reranker = Reranker.load(calibration, faq / "question_types.toml")
        return Regions.load(faq / "regions.toml"), Ranking.load(calibration), FaqRanking.load(calibration), reranker

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

    def build(self, accept=True):
        """Read knowledge/, segment, tokenize what changed, write the store and swap it in.

        The store is then an accepted build (retrieval/builds.py): `bot.py build` is an admin's
        explicit acceptance, without the reload quality gate. Reload builds beside the live store
        with accept=False and accepts only what passes the gate."""
        if accept:
            with builds.locked(self.settings.store_path):
                report = self.build(accept=False)
                builds.accept(self.settings.store_path)
                return report
        with self._lock:
            analyzer = self._new_analyzer()
            regions, ranking, faq_ranking, reranker = self._read_config()
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
            asked = by_passage(load_questions(self.settings.knowledge_dir), (p["id"] for p in passages))
            for p in passages:
                p["questions"] = asked.get(p["id"], [])
            asked_tokens = [index_question_tokens(analyzer, regions, p["questions"]) for p in passages]
            # The index fields hold each passage's questions together.
            question_fields = [([t for w, _ in q for t in w], [t for _, b in q for t in b]) for q in asked_tokens]
            index_questions = json.dumps([[normalized_questions(analyzer, p["questions"]), q] for p, q in zip(passages, asked_tokens)], ensure_ascii=False)
            metadata = {
                "input_hash": input_hash,
                "documents": len(documents),
                "passages": len(passages),
                "faq_entries": len(entries),
                "index_questions": sum(len(q) for q in asked.values()),
            }
            indexes = build_indexes(passages, tokens, question_fields)
            domain = analyzer.domain_terms()
            homophones = Homophones.build({t: indexes[0].document_frequency(t) for t in indexes[0].vocabulary if t in domain})
            # Index (and check the FAQ's sources) before writing: a bad file changes nothing.
            snapshot = Snapshot(metadata, documents, passages, tokens, analyzer, regions, ranking, entries, faq_ranking, indexes, homophones=homophones, reranker=reranker, index_questions=index_questions)
            saved = {name: index.parts() for name, index in zip(INDEX_FIELDS, indexes)}
            faq_rows = [dict(faq_row(e), tokens=snapshot.faq.tokens[e.id]) for e in entries]
            extras = {"homophones": homophones.dumps(), "index_questions": index_questions}
            rows = [dict(p, questions=json.dumps(p["questions"], ensure_ascii=False)) for p in passages]
            snapshot.metadata.update(store.write(self.settings.store_path, documents, rows, tokens, metadata, saved, faq_rows, extras))
            self._analyzer = analyzer
            self._snapshot = snapshot
            return BuildReport(len(documents), len(passages), tokenized, reused, input_hash)

    def load(self):
        """Load the last accepted build that can be read, never what knowledge/ holds now (that
        is adopted through reload's gate, or an admin's `bot.py build`); build and accept only
        when there is no accepted build at all (the first start, or every copy unreadable)."""
        path = self.settings.store_path
        store.remove_stale(path)  # temp files of a build or reload that was killed
        with builds.locked(path):
            for entry in builds.serve_newest(path):
                try:
                    snapshot = self.load_stored()
                except StoreError as exc:
                    log.warning("the accepted build %s cannot be loaded (%s); trying the one before it", entry.name, exc)
                    continue
                if not self.is_current():
                    log.info("knowledge/ or faq/ changed since the served build; `bot.py reload` adopts the change")
                return snapshot
        if builds.entries(path):
            log.warning("no accepted build of %s can be loaded: building knowledge/ as it is now", path)
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
            p["questions"] = _json_list(p["questions"])
        regions, ranking, faq_ranking, reranker = self._read_config()
        entries = [faq_entry(row) for row in faq_rows]  # the FAQ this store was built with
        faq_tokens = {row["id"]: row["tokens"] for row in faq_rows}
        extras = store.read_extras(self.settings.store_path)
        homophones = Homophones.loads(extras["homophones"]) if "homophones" in extras else None
        index_questions = extras.get("index_questions")
        self._snapshot = Snapshot(metadata, documents, passages, tokens, self.analyzer, regions, ranking, entries, faq_ranking, indexes, faq_tokens, homophones=homophones, reranker=reranker, index_questions=index_questions)
        return self._snapshot

    def install(self, snapshot):
        """Serve a snapshot built elsewhere (reload builds beside the live store, then swaps)."""
        self._analyzer = snapshot.analyzer
        self._snapshot = snapshot



def build_indexes(passages, tokens, question_tokens=None):
    """(words, bigrams, q_words, q_bigrams) BM25 indexes of the passages, in passage order."""
    question_tokens = question_tokens or [([], [])] * len(passages)
    text = tuple(BM25Index.build(tokens[p["content_hash"]][n] for p in passages) for n in range(2))
    asked = tuple(BM25Index.build(q[n] for q in question_tokens) for n in range(2))
    return text + asked


def prepare(analyzer, regions, question):
    """A question as it is searched: normalised, chat filler and place names removed (the region
    filter handles places). FAQ questions and index questions are prepared the same way."""
    return regions.strip(analyzer.query(question)[0])


def index_question_tokens(analyzer, regions, questions):
    """[[words, bigrams] of each of a passage's index questions], prepared as a citizen's question is."""
    out = []
    for q in questions:
        text = prepare(analyzer, regions, q)
        out.append([analyzer.words(text), analyzer.bigrams(text)])
    return out


def normalized_questions(analyzer, questions):
    """A passage's index questions normalised, one per line (what coverage looks for terms in)."""
    return "\n".join(analyzer.normalize(q) for q in questions)


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
        "effective_from": doc.effective_from,
        "effective_to": doc.effective_to,
        "superseded_by": doc.superseded_by,
        "order": doc.order,
        "revised": doc.revised,
        "year": doc.year,
    }


def _json_list(value):
    return value if isinstance(value, list) else json.loads(value)
