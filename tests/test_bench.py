"""The benchmark's synthetic corpus generator and its top-10 agreement check (timings live in make bench)."""

import json
from itertools import islice

import pytest
from rank_bm25 import BM25Okapi

from benchmarks.corpus import SentencePool, generate
from benchmarks.retrieval import agrees
from retrieval.index import BM25Index

from .conftest import DATA


@pytest.fixture(scope="module")
def pool(library):
    return SentencePool(library.snapshot.passages, library.analyzer)


def test_same_seed_gives_the_same_corpus_and_another_seed_another(pool):
    first = [(p.doc_id, p.text, p.words, p.bigrams) for p in generate(pool, 200, seed=1)]
    again = [(p.doc_id, p.text, p.words, p.bigrams) for p in generate(pool, 200, seed=1)]
    other = [(p.doc_id, p.text, p.words, p.bigrams) for p in generate(pool, 200, seed=2)]
    assert first == again
    assert first != other
    assert len(first) == 200 and all(words for _, _, words, _ in first)


def test_a_corpus_is_the_start_of_any_larger_one(pool):
    small = [p.words for p in generate(pool, 100)]
    assert small == [p.words for p in islice(generate(pool, 1000), 100)]


def test_vocabulary_keeps_growing_with_the_corpus(pool):
    def vocabulary(size):
        return len({w for p in generate(pool, size, bigrams=False) for w in p.words})

    small, large = vocabulary(300), vocabulary(3000)
    assert large > 1.5 * small  # new variants keep appearing, sublinearly
    assert large < 10 * small


def test_our_top_10_equals_rank_bm25s_on_a_small_synthetic_corpus(pool, library):
    corpus = [p.words for p in generate(pool, 500, seed=3, bigrams=False)]
    ours, reference = BM25Index.build(corpus), BM25Okapi(corpus)
    questions = [json.loads(line)["q"] for line in (DATA / "golden_questions.jsonl").read_text(encoding="utf-8").splitlines()]
    checks = [agrees(ours.top_k(library.analyzer.words(q), 10), reference.get_scores(library.analyzer.words(q))) for q in questions]
    assert all(ok for ok, _ in checks)
