"""The store: index fields in bounded chunks read back identically; a worker reads only what it serves."""

import json
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from retrieval import store
from retrieval.answer import Answerer
from retrieval.errors import StoreError
from retrieval.index import BM25Index
from retrieval.library import INDEX_FIELDS, Library

from .conftest import SHARED_DEV

SMALL_CHUNK = 4096  # bytes: every field of the real knowledge base then needs many chunks


def dev_questions():
    return [json.loads(line)["q"] for line in SHARED_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def rewrite(source, target, chunk_bytes):
    """The built store at `source` written again to `target` with another chunk size."""
    metadata, documents, passages, _, faq = store.read(source)
    metadata = {k: v for k, v in metadata.items() if k not in ("schema_version", "built_at")}
    tokens = dict(store.cached_tokens(source).items())
    store.write(target, documents, passages, tokens, metadata, store.read_indexes(source), faq, store.read_extras(source), chunk_bytes=chunk_bytes)


@pytest.fixture(scope="module")
def small_chunks(library, settings, tmp_path_factory):
    """A Library serving the session's build rewritten in 4 KB chunks."""
    path = tmp_path_factory.mktemp("chunks") / "store.db"
    rewrite(settings.store_path, path, SMALL_CHUNK)
    chunked = Library(replace(settings, store_path=path))
    chunked.load_stored()
    return chunked


def test_every_index_field_is_stored_in_several_bounded_chunks(small_chunks):
    with sqlite3.connect(small_chunks.settings.store_path) as db:
        rows = db.execute("select field, part, count(*), max(length(bytes)) from index_chunks group by field, part").fetchall()
        (largest_extra,) = db.execute("select max(length(value)) from extras").fetchone()
    assert {(field, part) for field, part, _, _ in rows} == {(f, p) for f in INDEX_FIELDS for p in ("terms", "indptr", "indices", "data")}
    assert all(largest <= SMALL_CHUNK for _, _, _, largest in rows) and largest_extra <= SMALL_CHUNK
    data_chunks = {field: n for field, part, n, _ in rows if part == "data"}
    assert min(data_chunks.values()) > 10, data_chunks


def test_a_chunked_store_reads_back_the_very_same_arrays(library, small_chunks):
    original = store.read_indexes(library.settings.store_path)
    chunked = store.read_indexes(small_chunks.settings.store_path)
    assert set(chunked) == set(INDEX_FIELDS)
    for field in INDEX_FIELDS:
        terms, *arrays, n_docs = chunked[field]
        want_terms, *want_arrays, want_docs = original[field]
        assert (terms, n_docs) == (want_terms, want_docs)
        for got, want in zip(arrays, want_arrays):
            assert got.dtype == want.dtype and np.array_equal(got, want)
    assert store.read_extras(small_chunks.settings.store_path) == store.read_extras(library.settings.store_path)


def test_a_chunked_store_answers_every_dev_question_exactly_as_the_build(library, settings, small_chunks):
    built, chunked = Answerer(library, settings), Answerer(small_chunks, small_chunks.settings)
    questions = dev_questions()
    assert len(questions) == 52
    for question in questions:
        want, got = built.search(question, k=10), chunked.search(question, k=10)
        assert [(h.passage["id"], h.score, h.matched, h.fields, h.features) for h in got.hits] == [(h.passage["id"], h.score, h.matched, h.fields, h.features) for h in want.hits]
        assert chunked.ask(question).as_json() == built.ask(question).as_json()


def test_a_field_larger_than_sqlites_row_limit_is_written_in_chunks_below_it():
    # The 1M-passage failure in small: one row per field passes SQLite's length limit.
    tokens = [[f"t{(d * 7 + j) % 997}" for j in range(40)] for d in range(2000)]
    parts = {"words": BM25Index.build(tokens).parts()}
    limit = 100_000
    assert len(parts["words"][3]) * 8 > limit  # the data array alone is larger than a row may be
    whole = sqlite3.connect(":memory:")
    whole.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
    with pytest.raises(sqlite3.DataError, match="string or blob too big"):
        store._write_indexes(whole, parts, chunk_bytes=10**9)
    chunked = sqlite3.connect(":memory:")
    chunked.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
    store._write_indexes(chunked, parts, chunk_bytes=limit // 2)
    terms, indptr, indices, data, n_docs = store._read_indexes(chunked, ":memory:")["words"]
    want = parts["words"]
    assert (terms, n_docs) == (want[0], want[4])
    assert all(np.array_equal(got, w) for got, w in zip((indptr, indices, data), want[1:4]))


def test_a_chunk_missing_from_a_field_is_a_store_error(small_chunks, tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(small_chunks.settings.store_path.read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("delete from index_chunks where field = 'bigrams' and part = 'data' and seq = 3")
    with pytest.raises(StoreError, match="index 'bigrams' is damaged: its chunks do not add up"):
        store.read_indexes(path)


def test_a_loaded_worker_holds_no_token_lists_and_reads_them_from_the_store_when_asked(library, settings, tmp_path):
    path = tmp_path / "store.db"
    path.write_bytes(settings.store_path.read_bytes())
    worker = Library(replace(settings, store_path=path))
    snapshot = worker.load_stored()
    first = snapshot.passages[0]["content_hash"]
    assert snapshot.words_tokens(0) == library.snapshot.words_tokens(0)
    with sqlite3.connect(path) as db:  # the token rows vanish after loading ...
        db.execute("delete from tokens")
    question = dev_questions()[0]
    # ... and the worker answers exactly as before: it never needed them.
    assert Answerer(worker, worker.settings).ask(question).as_json() == Answerer(library, settings).ask(question).as_json()
    with pytest.raises(KeyError):
        snapshot.words_tokens(0)
    assert first not in snapshot._tokens
