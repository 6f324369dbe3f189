"""Deterministic synthetic corpora of any size, grown from the real passages.

Each synthetic passage takes as many sentences as a randomly chosen real passage has, drawn from
the sentences of all real passages (so topics mix across passages), and replaces some of its
words by variants (one character changed, chosen from a heavy-tailed draw). The variants keep
the vocabulary and the document-frequency tail growing with the corpus, as a real policy library
grows new names, places and terms, instead of repeating the same ~5k words forever.

Sentences are tokenized once with the project's TextAnalyzer; a passage's word tokens are its
sentences' tokens with the substitutions applied, and its bigrams are computed from its text.
"""

import random
import re
import zlib
from dataclasses import dataclass

_SENTENCE = re.compile(r"[^。;；!！?？\n]+[。;；!！?？]?")

SUBSTITUTION_RATE = 0.12  # share of distinct words (2+ characters) in a passage replaced by a variant
VARIANT_TAIL = 0.8  # Pareto shape of the variant number: lower means more distinct variants


@dataclass(frozen=True)
class Sentence:
    text: str
    words: tuple
    doc_id: str


@dataclass(frozen=True)
class SyntheticPassage:
    number: int
    doc_id: str  # the real document its first sentence came from (gives it a region)
    text: str
    words: list
    bigrams: list


class SentencePool:
    """The real passages split into sentences, each tokenized once."""

    def __init__(self, passages, analyzer):
        self.analyzer = analyzer
        self.sentences = []
        self.lengths = []  # sentences per real passage, the distribution synthetic ones follow
        for p in passages:
            parts = [s.strip() for s in _SENTENCE.findall(p["text"]) if s.strip()]
            for text in parts:
                self.sentences.append(Sentence(text, tuple(analyzer.words(text)), p["doc_id"]))
            if parts:
                self.lengths.append(len(parts))
        self.charset = sorted({ch for s in self.sentences for ch in s.text if "\u4e00" <= ch <= "\u9fff"})


def generate(pool, size, seed=0, bigrams=True):
    """Yield `size` synthetic passages; the same pool, size and seed give the same passages."""
    rng = random.Random(seed)
    variants = {}  # (word, n) -> variant string, shared so equal tokens are one object
    for number in range(size):
        chosen = [rng.choice(pool.sentences) for _ in range(rng.choice(pool.lengths))]
        words = [w for s in chosen for w in s.words]
        text = "".join(s.text for s in chosen)
        swap = {}
        for word in dict.fromkeys(words):
            if len(word) >= 2 and rng.random() < SUBSTITUTION_RATE:
                n = int(rng.paretovariate(VARIANT_TAIL))
                key = (word, n)
                if key not in variants:
                    variants[key] = word[:-1] + pool.charset[zlib.crc32(f"{word}/{n}".encode()) % len(pool.charset)]
                swap[word] = variants[key]
        if swap:
            words = [swap.get(w, w) for w in words]
            for word in sorted(swap, key=len, reverse=True):
                text = text.replace(word, swap[word])
        yield SyntheticPassage(number, chosen[0].doc_id, text, words, pool.analyzer.bigrams(text) if bigrams else [])
